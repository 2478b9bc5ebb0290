"""Feedback settings: ``FEEDBACK_*`` environment variables (durations as seconds or ISO 8601).

The taxonomy is configurable as JSON (``FEEDBACK_TAXONOMY='{"delivery": ["parcel late", ...]}'``):
each category is described by a few short phrases that an item's embedding is compared with
(and that the LLM sees as the allowed labels). ``other`` is always available as the fallback.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.common.settings import Duration

AnalyzerName = Literal["llm", "embedding", "hybrid"]
FALLBACK_CATEGORY = "other"

DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "delivery": [
        "delivery, shipping and parcels",
        "my order arrived late or never arrived",
        "the courier lost or damaged the package",
        "tracking number and delivery date",
    ],
    "billing": [
        "billing, invoices and payments",
        "I was charged twice or overcharged on my card",
        "refund not received",
        "wrong amount on my bill or invoice",
    ],
    "product quality": [
        "product quality and defects",
        "the item broke, stopped working or is faulty",
        "poor material, cheap build, not as described",
        "the product works great and is well made",
        "I love this product, excellent quality",
    ],
    "app/website": [
        "mobile app or website problems",
        "the app crashes, freezes or is slow",
        "cannot log in to my account or checkout page error",
        "the website is easy to use",
    ],
    "customer support": [
        "customer service and support agents",
        "support was helpful, friendly and quick",
        "nobody answered my emails or calls, long wait on hold",
        "the agent was rude or did not solve my problem",
    ],
    "pricing": [
        "prices, costs and value for money",
        "too expensive, the price went up",
        "good value, cheap, discount or promotion",
        "subscription fee and pricing plans",
    ],
}


class FeedbackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", extra="ignore")

    analyzer: AnalyzerName = Field(
        default="embedding",
        description="embedding: head + similarity; llm: schema-constrained chat model; hybrid",
    )
    taxonomy: dict[str, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_TAXONOMY),
        description="category -> describing phrases; 'other' is the fallback",
    )
    category_min_similarity: float = Field(
        default=0.3, ge=-1, le=1, description="below this, an item is 'other'"
    )
    max_key_phrases: int = Field(default=3, ge=1, le=10)
    model_threads: int | None = Field(
        default=1,
        ge=1,
        description="threads of the embedding models (torch's or onnxruntime's; None: the "
        "engine's default). One "
        "thread per item beats two on small machines, where OpenMP's spinning workers "
        "compete with librdkafka, the broker and Chroma for the same cores",
    )
    llm_attempts: int = Field(
        default=2, ge=1, description="tries per item when the model's answer breaks the schema"
    )
    batch_max: int = Field(
        default=32, ge=1, le=1024, description="items that missed the cache analyzed per batch"
    )
    batch_wait_ms: int = Field(
        default=100,
        ge=1,
        le=60_000,
        description="the longest an item waits for its batch to fill: a latency bound",
    )
    hybrid_confidence: float = Field(
        default=0.6, ge=0, le=1, description="hybrid asks the LLM when sentiment is less sure"
    )
    cache_ttl: Duration = Field(
        default=timedelta(days=30), description="event time a cached analysis is kept"
    )
    collection: str = Field(
        default="feedback", description="Chroma collection (topic prefix added)"
    )
    max_clock_skew: Duration = Field(
        default=timedelta(minutes=10),
        description="items stamped further in the future are dead-lettered",
    )
    window: Duration = Field(default=timedelta(minutes=1), description="insight window length")
    window_grace: Duration = Field(
        default=timedelta(minutes=2),
        description="how late an item may be and still count; must exceed the event-time skew "
        "between partitions, which a backlog (start-up, restart) can stretch",
    )
    negative_share: float = Field(
        default=0.5, gt=0, le=1, description="a window at least this negative alerts ..."
    )
    negative_min_count: int = Field(default=10, ge=1, description="... if it has this many items")
    surge_factor: float = Field(
        default=3.0, gt=1, description="a category this many times its trailing mean alerts ..."
    )
    surge_min_count: int = Field(default=8, ge=1, description="... with at least this many items")
    baseline_windows: int = Field(default=10, ge=1, description="windows in the trailing baseline")
    min_baseline_windows: int = Field(
        default=3, ge=1, description="no surge alert before this many windows were seen"
    )

    learn_min_labels: int = Field(
        default=100,
        ge=1,
        description="labels before the first refit (bench/RESULTS.md: the "
        "learning curve gains most by 100)",
    )
    learn_every: int = Field(default=50, ge=1, description="new labels between later refits")
    learn_delay: Duration = Field(
        default=timedelta(seconds=30),
        description="a refit takes effect this long after it is made: the time every process "
        "of the pipeline has to read it",
    )
    label_ttl: Duration = Field(
        default=timedelta(days=90), description="how long an item can still be labelled"
    )
    learn_max_labels: int = Field(
        default=5000, ge=1, description="labels learned from: the newest this many"
    )

    @field_validator("taxonomy")
    @classmethod
    def _fallback_is_implicit(cls, taxonomy: dict[str, list[str]]) -> dict[str, list[str]]:
        if not taxonomy:
            msg = "the taxonomy needs at least one category besides 'other'"
            raise ValueError(msg)
        for name, phrases in taxonomy.items():
            if name != FALLBACK_CATEGORY and not phrases:
                msg = f"category {name!r} needs at least one describing phrase"
                raise ValueError(msg)
        return {name: phrases for name, phrases in taxonomy.items() if name != FALLBACK_CATEGORY}

    @property
    def categories(self) -> list[str]:
        """Every label an item can get, the fallback last."""
        return [*self.taxonomy, FALLBACK_CATEGORY]
