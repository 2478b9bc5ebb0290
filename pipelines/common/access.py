"""What each Kafka client of streamwise touches: the one declaration least privilege is built on.

A pipeline's principal needs exactly its ``Access``: the contract topics it reads and
writes, its dead-letter topic, its consumer group, the internal changelog and
repartition topics Quix names after that group, and (under exactly-once) the
transactional ids it opens. ``streamwise acls`` prints this as ``kafka-acls`` commands,
``make_app`` creates only these topics, and ``PipelineApp.topic`` refuses any other: a
flow that starts reading a new topic fails in its first test until it is declared
here, so the printed ACLs cannot fall behind the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.common.topics import dlq_name


@dataclass(frozen=True)
class Access:
    """The contract topics one client reads and writes (unprefixed names)."""

    reads: tuple[str, ...]
    writes: tuple[str, ...] = ()

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.reads + self.writes))


PIPELINE_ACCESS: dict[str, Access] = {
    "fraud": Access(reads=("transactions", "customers"), writes=("fraud-alerts",)),
    "fraud-triage": Access(
        reads=("fraud-alerts", "fraud-verdicts"), writes=("fraud-alerts-triaged",)
    ),
    "fraud-quality": Access(reads=("fraud-alerts", "fraud-verdicts"), writes=("fraud-quality",)),
    "feedback": Access(
        reads=("feedback", "feedback-enriched", "feedback-labels", "feedback-classifier"),
        writes=(
            "feedback-enriched",
            "feedback-insights",
            "feedback-alerts",
            "feedback-classifier",
        ),
    ),
    "knowledge": Access(reads=("kb-changes",)),
    "rag": Access(reads=("questions", "customers"), writes=("answers",)),
    "answer-kpis": Access(reads=("answers", "answer-ratings"), writes=("answer-kpis",)),
    "cdc": Access(reads=(), writes=("customers", "kb-changes")),
    "lake": Access(
        reads=(
            "fraud-alerts",
            "fraud-alerts-triaged",
            "feedback-enriched",
            "feedback-insights",
            "feedback-alerts",
            "answers",
        )
    ),
}
"""Every pipeline of ``topics.PIPELINES``; each also writes its ``<pipeline>-dlq``."""

SERVE_ACCESS = Access(reads=("answers",), writes=("questions", "answer-ratings"))
"""``serve`` and ``ask``: publish questions and ratings, read answers by assignment (no group)."""

DASHBOARD_TOPICS = (
    "fraud-alerts-triaged",
    "fraud-verdicts",
    "fraud-quality",
    "feedback-enriched",
    "feedback-insights",
    "feedback-alerts",
    "feedback-labels",
    "feedback-classifier",
    "answer-kpis",
    "answers",
    "kb-changes",
)
DASHBOARD_ACCESS = Access(reads=DASHBOARD_TOPICS, writes=("fraud-verdicts", "feedback-labels"))
"""``streamwise dashboard``, the operations console: reads every topic its three pages show
(from the beginning, in a group of its own) and publishes analysts' verdicts and labels."""
DASHBOARD_GROUP_PREFIX = "streamwise-dashboard-"
"""Each dashboard process subscribes in a group of its own under this prefix."""


def pipeline_topics(pipeline: str) -> tuple[str, ...]:
    """Every topic ``pipeline`` uses: its contract topics and its dead-letter topic."""
    return (*PIPELINE_ACCESS[pipeline].topics, dlq_name(pipeline))


def transactional_id_prefix(group: str) -> str:
    """What each exactly-once producer's ``transactional.id`` of ``group`` starts with.

    Every process adds a random suffix (replicas must not fence each other), so ACLs
    grant the prefix.
    """
    return f"{group}-"


def internal_topic_prefixes(group: str) -> tuple[str, str]:
    """The names Quix gives the changelog and repartition topics of ``group`` start so."""
    return f"changelog__{group}--", f"repartition__{group}--"
