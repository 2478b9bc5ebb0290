"""The topic registry: every topic of the contract, declared once.

A ``TopicSpec`` says what a topic holds (its event model), what it is keyed by,
and how the broker keeps it. Pipelines get Quix ``Topic`` objects from here, the
``produce`` verb keys and validates with it, and ``ensure_topics`` creates what
is missing at start-up (explicit ``retention.*`` configs: Quix derives changelog
settings from them, and Tansu reports no broker defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from quixstreams import Application
from quixstreams.models import TimestampType, TopicConfig
from quixstreams.models.serializers import Serializer
from quixstreams.models.topics import Topic

from pipelines.common import events
from pipelines.common.epoch import duration_ms, to_ms
from pipelines.common.serialization import EventDeserializer, JsonSerializer, KeySerializer

CleanupPolicy = Literal["delete", "compact"]
_DAY_MS = duration_ms(timedelta(days=1))
FOREVER = -1


@dataclass(frozen=True)
class TopicSpec:
    """One topic: name, event model (``None``: raw bytes, e.g. a DLQ), key field, retention."""

    name: str
    model: type[events.Event] | None
    key_field: str | None
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int = 7 * _DAY_MS
    retention_bytes: int = FOREVER
    tombstone_deletes: bool = False
    """A null value deletes the key's value (``customers``); elsewhere it is poison."""

    def prefixed(self, prefix: str) -> TopicSpec:
        """This topic as named in a deployment with ``STREAMWISE_TOPIC_PREFIX=prefix``."""
        return replace(self, name=prefix + self.name) if prefix else self

    def broker_config(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "retention.bytes": str(self.retention_bytes),
        }


PIPELINES = (
    "fraud",
    "fraud-triage",
    "fraud-quality",
    "feedback",
    "knowledge",
    "rag",
    "answer-kpis",
    "cdc",
    "lake",
)
"""Every pipeline, each with its ``<pipeline>-dlq`` topic, created with the others at start.

``pipelines/registry.py`` maps the same names to their modules; the runtime never
imports the registry, so ``tests/test_registry.py`` keeps the two lists equal.
"""

CONTRACT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("transactions", events.Transaction, "card_id"),
    TopicSpec("customers", events.Customer, "card_id", "compact", FOREVER, tombstone_deletes=True),
    TopicSpec("fraud-alerts", events.FraudAlert, "card_id", retention_ms=30 * _DAY_MS),
    TopicSpec("fraud-alerts-triaged", events.TriagedAlert, "card_id", retention_ms=30 * _DAY_MS),
    # Verdicts (chargebacks among them) come weeks after their alerts: kept over a year.
    TopicSpec("fraud-verdicts", events.FraudVerdict, "alert_id", retention_ms=400 * _DAY_MS),
    TopicSpec("fraud-quality", events.FraudQuality, "rule", retention_ms=30 * _DAY_MS),
    TopicSpec("feedback", events.Feedback, "feedback_id"),
    TopicSpec("feedback-enriched", events.EnrichedFeedback, "feedback_id"),
    TopicSpec("feedback-insights", events.FeedbackInsight, "window_start"),
    TopicSpec("feedback-alerts", events.FeedbackAlert, "category", retention_ms=30 * _DAY_MS),
    # Labels are learned from as they come (the pipeline keeps them); kept a month to replay.
    TopicSpec("feedback-labels", events.FeedbackLabel, "feedback_id", retention_ms=30 * _DAY_MS),
    # Every version ever shipped stays: an item is analyzed by the one in effect at its time.
    TopicSpec("feedback-classifier", events.FeedbackClassifier, "version", "compact", FOREVER),
    TopicSpec("kb-changes", events.KbChange, "doc_id", "compact", FOREVER),
    TopicSpec("questions", events.Question, "question_id", retention_ms=_DAY_MS),
    TopicSpec("answers", events.Answer, "question_id", retention_ms=_DAY_MS),
    # A rating may come days after its answer; kept as long as KNOWLEDGE_RATING_TTL's default.
    TopicSpec("answer-ratings", events.AnswerRating, "question_id", retention_ms=30 * _DAY_MS),
    TopicSpec("answer-kpis", events.AnswerKpis, "window_start", retention_ms=30 * _DAY_MS),
)

JOINED: tuple[tuple[str, ...], ...] = (("transactions", "customers"),)
"""Topics a pipeline joins by key directly (fraud's as-of profile join): co-partitioned.

Joins after a ``group_by`` (RAG's profile lookup) read internal repartition topics that
Quix sizes itself, so only direct joins are listed.
"""

DLQ_TOPICS: tuple[TopicSpec, ...] = tuple(
    TopicSpec(f"{pipeline}-dlq", None, None, retention_ms=30 * _DAY_MS) for pipeline in PIPELINES
)

REGISTRY: dict[str, TopicSpec] = {spec.name: spec for spec in CONTRACT_TOPICS + DLQ_TOPICS}


def spec(name: str) -> TopicSpec:
    """The spec of topic ``name``, or a ``KeyError`` that lists the known topics."""
    try:
        return REGISTRY[name]
    except KeyError:
        msg = f"unknown topic {name!r}; known topics: {', '.join(REGISTRY)}"
        raise KeyError(msg) from None


def all_topics(prefix: str = "") -> list[TopicSpec]:
    """Every topic streamwise uses (contract and dead-letter topics), as a deployment names them."""
    return [topic.prefixed(prefix) for topic in CONTRACT_TOPICS + DLQ_TOPICS]


def joined_topics(prefix: str = "") -> list[tuple[str, ...]]:
    """``JOINED`` as a deployment names its topics."""
    return [tuple(prefix + name for name in group) for group in JOINED]


def dlq_name(pipeline: str) -> str:
    return f"{pipeline}-dlq"


def _event_time_ms(
    value: object, headers: object, timestamp_ms: int, timestamp_type: TimestampType
) -> int:
    """Event time for windows and state TTL: the event's own ``ts``, not the broker's."""
    ts = getattr(value, "ts", None)
    return to_ms(ts) if ts is not None else timestamp_ms


def quix_topic(
    app: Application,
    topic_spec: TopicSpec,
    *,
    partitions: int,
    replication_factor: int = 1,
    value_serializer: Serializer | None = None,
) -> Topic:
    """A Quix ``Topic`` for ``topic_spec``: validated events in, orjson out, event time.

    ``value_serializer`` replaces orjson on the way out (``KeyedRecordSerializer``).
    """
    name = topic_spec.name
    config = TopicConfig(
        num_partitions=partitions,
        replication_factor=replication_factor,
        extra_config=topic_spec.broker_config(),
    )
    if topic_spec.model is None:
        return app.topic(
            name,
            value_deserializer="bytes",
            value_serializer="bytes",
            key_serializer=KeySerializer(),
            config=config,
        )
    return app.topic(
        name,
        value_deserializer=EventDeserializer(
            topic_spec.model, tombstone_deletes=topic_spec.tombstone_deletes
        ),
        key_deserializer="bytes",
        value_serializer=value_serializer or JsonSerializer(),
        key_serializer=KeySerializer(),
        config=config,
        timestamp_extractor=_event_time_ms,
    )
