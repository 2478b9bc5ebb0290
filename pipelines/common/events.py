"""Event schemas: the topics of ``CONTRACT.md`` as pydantic models.

Every model keeps unknown fields (``extra="allow"``): the contract promises that
producers may add fields and that we pass them through untouched (decoding still
rejects one that stands for a field the event lacks, see ``near_miss``). Timestamps
must carry a zone; a naive timestamp is a validation error, not a guess. Field
descriptions are documentation: ``fields`` renders them for ``produce --help``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(description="ISO 3166-1 alpha-2 country code, e.g. GB"),
]
Severity = Literal["low", "medium", "high"]
Sentiment = Literal["positive", "negative", "neutral"]
FeedbackSource = Literal["email", "chat", "app_review", "social", "survey"]
RiskTier = Literal["standard", "high"]
"""Only tiers with a meaning: ``high`` raises an alert's severity (fraud.profile), ``standard``
leaves it. Exact lower case, as every enumeration: ``"High"`` is rejected, not ignored."""


def _date_of(value: Any) -> Any:
    """Accept a full ISO timestamp where a calendar date is meant (travel notices)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        return value[:10]
    return value


CalendarDate = Annotated[date, BeforeValidator(_date_of)]


class Event(BaseModel):
    """Base of every contract event: unknown fields are kept, instances are immutable."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: contract field names (aliases), ISO timestamps, no nulls."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- fraud -----------------------------------------------------------------------------


class Transaction(Event):
    txn_id: NonEmpty
    card_id: NonEmpty
    ts: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    amount: float = Field(ge=0)
    currency: Annotated[
        str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217 code, e.g. GBP")
    ]
    merchant: str
    country: CountryCode
    channel: Literal["card_present", "online"]


class TravelNotice(Event):
    country: CountryCode
    from_: CalendarDate = Field(alias="from", description="first day of the trip")
    to: CalendarDate = Field(description="last day of the trip, included")

    def covers(self, country: str, day: date) -> bool:
        """Whether this notice announces travel to ``country`` on ``day``."""
        return self.country == country and self.from_ <= day <= self.to


class Customer(Event):
    card_id: NonEmpty
    customer_id: NonEmpty
    home_country: CountryCode
    travel_notices: list[TravelNotice] = Field(default_factory=list)
    risk_tier: RiskTier = Field(default="standard", description="high raises alert severity")


class Place(Event):
    lat: float
    lon: float
    country: CountryCode
    ts: AwareDatetime


class FraudAlert(Event):
    alert_id: NonEmpty
    rule: NonEmpty
    card_id: NonEmpty
    txn_ids: list[str]
    ts: AwareDatetime
    severity: Severity
    reasons: list[str]
    distance_km: float | None = None
    speed_kmh: float | None = None
    from_: Place | None = Field(default=None, alias="from")
    to: Place | None = None


NoteSource = Literal["model", "facts"]
VerdictValue = Literal["fraud", "legitimate"]


class SimilarVerdict(Event):
    alert_id: NonEmpty
    verdict: VerdictValue


class TriagedAlert(FraudAlert):
    note: str
    similar_alert_ids: list[str] = Field(default_factory=list)
    note_source: NoteSource = "model"
    """``facts``: the model's note stated what the alert does not, so it was rebuilt."""
    similar_verdicts: list[SimilarVerdict] = Field(
        default_factory=list, description="the latest verdict of each similar case judged"
    )


class FraudVerdict(Event):
    alert_id: NonEmpty
    verdict: VerdictValue
    ts: AwareDatetime
    analyst: str | None = None
    note: str | None = None


class QualityCounts(Event):
    """Counts over alerts raised in a span of time; ``precision`` is null without verdicts.

    ``precision`` is written even when null (``to_json_dict``), here and in the counts
    nested in a ``FraudQuality``: the contract lists it among the required fields.
    """

    alerts: int = Field(ge=0, description="alerts raised from window_start to window_end")
    verdicts: int = Field(ge=0, description="alerts judged so far")
    confirmed: int = Field(ge=0, description="alerts judged fraud")
    precision: float | None = Field(ge=0, le=1, description="confirmed / verdicts")

    def to_json_dict(self) -> dict[str, Any]:
        wire = self.model_dump(mode="json", by_alias=True).items()
        return {key: value for key, value in wire if value is not None or key == "precision"}


class FraudQuality(QualityCounts):
    """How one rule fares: over the alerts raised in one window, or over all counted so far."""

    rule: NonEmpty
    window_start: AwareDatetime
    window_end: AwareDatetime
    scope: Literal["window", "cumulative"] = Field(
        default="window", description="one window of alert time, or every alert counted so far"
    )
    by_severity: dict[Severity, QualityCounts] = Field(default_factory=dict)


# --- feedback --------------------------------------------------------------------------


class Feedback(Event):
    feedback_id: NonEmpty
    ts: AwareDatetime
    source: FeedbackSource
    text: str
    customer_id: str | None = None
    rating: int | None = Field(default=None, ge=1, le=5)


class EnrichedFeedback(Feedback):
    sentiment: Sentiment
    sentiment_score: float = Field(ge=-1, le=1)
    key_phrases: list[str]
    category: NonEmpty
    model: NonEmpty


class FeedbackLabel(Event):
    """A person's correction of an enriched item; a later label of the same item replaces it."""

    feedback_id: NonEmpty
    ts: AwareDatetime
    sentiment: Sentiment | None = None
    category: NonEmpty | None = None
    labeller: str | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if self.sentiment is None and self.category is None:
            msg = "a label needs a sentiment, a category or both"
            raise ValueError(msg)
        return self


class FeedbackClassifier(Event):
    """One refit of the feedback classifier on this deployment's labels, shipped or not.

    A shipped version analyzes every item stamped at or after ``effective_from`` (and
    items before it keep the version in effect at their time, so replays do not change);
    ``head`` and ``prototypes`` are its parameters, which every feedback process loads.
    """

    version: NonEmpty
    model: NonEmpty = Field(description="what `model` on feedback-enriched says under it")
    ts: AwareDatetime
    effective_from: AwareDatetime
    shipped: bool
    labels: int = Field(ge=0, description="labels the refit learned from, held-back ones included")
    held_back: int = Field(ge=0, description="labels kept aside to validate the refit")
    accuracy: float | None = Field(
        default=None, ge=0, le=1, description="the refit's sentiment accuracy on the held-back"
    )
    previous_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="the version in use's accuracy on the same labels"
    )
    category_accuracy: float | None = Field(default=None, ge=0, le=1)
    previous_category_accuracy: float | None = Field(default=None, ge=0, le=1)
    head: dict[str, Any] | None = None
    prototypes: dict[str, list[float]] | None = None


class FeedbackInsight(Event):
    window_start: AwareDatetime
    window_end: AwareDatetime
    count: int = Field(ge=0)
    sentiment_counts: dict[str, int]
    avg_rating: float | None = Field(
        default=None, description="left out of the wire form when no item of the window is rated"
    )
    top_categories: list[Any]
    top_key_phrases: list[Any]
    source_counts: dict[str, int]


class FeedbackAlert(Event):
    alert_id: NonEmpty
    kind: NonEmpty
    window_start: AwareDatetime
    window_end: AwareDatetime
    category: str
    reasons: list[str]
    examples: list[str]


# --- knowledge -------------------------------------------------------------------------


class KbChange(Event):
    doc_id: NonEmpty
    version: int = Field(ge=0, description="increases with every change of the document")
    op: Literal["upsert", "delete"]
    ts: AwareDatetime
    title: str | None = Field(default=None, description="required when op is upsert")
    text: str | None = Field(default=None, description="required when op is upsert")
    source: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _upserts_carry_content(self) -> Self:
        if self.op == "upsert" and (self.title is None or self.text is None):
            msg = f"an upsert of doc {self.doc_id!r} needs both 'title' and 'text'"
            raise ValueError(msg)
        return self


class Question(Event):
    question_id: NonEmpty
    text: NonEmpty
    ts: AwareDatetime
    customer_id: str | None = None


class Citation(Event):
    doc_id: str
    version: int
    chunk_id: str


class Answer(Event):
    question_id: NonEmpty
    answer: str
    citations: list[Citation]
    index_version: int
    model: str
    latency_ms: float = Field(ge=0)
    status: Literal["ok", "rejected", "no_context"]


class AnswerRating(Event):
    """A user's judgement of one answer; a later rating of the same question replaces it."""

    question_id: NonEmpty
    rating: Literal["up", "down"]
    ts: AwareDatetime
    comment: str | None = None


class LowRatedDoc(Event):
    doc_id: str
    down_answers: int = Field(ge=1, description="down-rated answers of the window citing it")


class AnswerKpis(Event):
    """One window of answer time: how the answers fared, and what to fix in the knowledge base.

    ``satisfaction`` is written even when null (no answer of the window rated yet): the
    contract lists it among the required fields, as are the latency percentiles.
    """

    window_start: AwareDatetime
    window_end: AwareDatetime
    answers: int = Field(ge=0)
    status_counts: dict[str, int]
    rated: int = Field(ge=0, description="answers of the window rated so far")
    satisfaction: float | None = Field(ge=0, le=1, description="share of up among rated")
    latency_p50_ms: float | None = Field(ge=0)
    latency_p95_ms: float | None = Field(ge=0)
    low_rated_docs: list[LowRatedDoc] = Field(
        description="the documents cited most by the window's down-rated answers"
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
