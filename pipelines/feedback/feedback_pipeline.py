r"""Feedback: enrichment, live insights and emerging-issue alerts.

feedback --(by masked-text hash)--> enrich (cache in state) --> feedback-enriched
                          ^                   \--miss--> batcher     \--> Chroma (semantic search)
                          \--- answers (analyze_many) ---/
feedback-enriched --(one group)--> tumbling event-time windows --> feedback-insights
                                                     \--> alert rules (stateful) --> feedback-alerts
feedback-enriched + feedback-labels --> join, learn (``learning.py``) --> feedback-classifier
undecodable / invalid / stamped in the future / analysis failing its retries --> feedback-dlq

Repartitioning by the hash of the masked text puts every copy of a text on the same
state key, so a duplicate (any feedback id) or a replay reads the cached analysis
instead of calling the model again. Misses are analyzed in batches across messages and
partitions, their answers coming back through the repartition topic (``batching.py``
says why that shape). The repartition topic carries the original bytes,
and the original key and position in headers (``origin.py``), so a dead letter after it
holds exactly what the producer sent, under the producer's key and naming the
``feedback`` partition and offset. Like the source topic, that internal topic holds
unmasked text; everything the pipeline publishes or stores is masked.

Insights read the published ``feedback-enriched`` topic, as any other consumer would, all
in one group. Kafka orders partitions, not topics, so items reach that group only roughly
in event time; ``FEEDBACK_WINDOW_GRACE`` must cover the skew. A backlog (a pipeline
started after its producers, or restarted after a pause) can stretch the skew past the
grace: late items are then left out of their window (still enriched and searchable),
counted, and summed up in at most one log line a minute (``common/late.py``).

Windows close on event time, never on the wall clock: a window's insight (and its alerts)
comes once an item stamped at or after its end plus the grace arrives, so the last window
of a small file or a paused stream stays open until more feedback comes. Quix 3.28 has no
wall-clock close, and a made-up "tick" item would move event time past items still on
their way; the dashboard shows the open window from ``feedback-enriched`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from quixstreams.dataframe import StreamingDataFrame
from quixstreams.sinks import BaseSink
from quixstreams.state import State

from models import validate_answer
from pipelines.common import backends
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.events import (
    EnrichedFeedback,
    Feedback,
    FeedbackAlert,
    FeedbackClassifier,
    FeedbackInsight,
    FeedbackLabel,
)
from pipelines.common.late import LateEvents
from pipelines.common.serialization import (
    EventDeserializer,
    JsonSerializer,
    OriginalBytesSerializer,
)
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.feedback import insights
from pipelines.feedback.alerts import AlertRules, detect
from pipelines.feedback.analyzers.base import Analyzer, analysis_schema
from pipelines.feedback.analyzers.factory import make_analyzer, pipeline_embedder
from pipelines.feedback.analyzers.versions import AnalyzerVersions, Learnable
from pipelines.feedback.batching import AnalysisBatcher, Pending
from pipelines.feedback.classifier_feed import start_classifier_feed
from pipelines.feedback.enrich import Enriched, Enricher, check_clock, text_key
from pipelines.feedback.learning import LabelJoin, Learner, LearnSettings
from pipelines.feedback.settings import FeedbackSettings
from pipelines.feedback.sinks import FeedbackVectorSink
from state.feedback import AlertHistory

INSIGHTS_GROUP = "all"
LEARNER_KEY = "classifier"


class AlertDetector:
    """The alert rules bound to settings and to the one state key all windows share."""

    def __init__(self, rules: AlertRules) -> None:
        self._rules = rules

    def detect(self, window: dict[str, Any], state: State[str, Any]) -> list[FeedbackAlert]:
        return detect(window["value"], window["start"], window["end"], AlertHistory(state),
                      self._rules)  # fmt: skip


def _insight(window: dict[str, Any]) -> FeedbackInsight:
    return insights.summarize(window["value"], window["start"], window["end"])


def build(
    papp: PipelineApp,
    settings: FeedbackSettings,
    analyzer: Analyzer,
    sink: BaseSink | None = None,
    versions: AnalyzerVersions | None = None,
) -> None:
    """Declare the dataflow on ``papp``; nothing runs until ``papp.run()``.

    ``papp`` should commit every ``settings.batch_wait_ms`` (``make_feedback_app``): the
    batcher's last items go at each commit. ``versions`` holds the refits in effect
    (``classifier_feed`` keeps it current); labels are learned from if the analyzer can be
    taught (the embedding and hybrid ones).
    """
    app = papp.app
    versions = versions or AnalyzerVersions(analyzer)
    enricher = Enricher(versions, settings.cache_ttl)
    schema = analysis_schema(settings.categories, settings.max_key_phrases)
    batcher = AnalysisBatcher(
        versions.by_identity,
        lambda answer: validate_answer(answer, schema),
        papp.app.produce_in_checkpoint,
        max_items=settings.batch_max,
        max_wait_s=settings.batch_wait_ms / 1000,
        attempts=settings.llm_attempts,
    )

    def on_time(feedback: Feedback) -> Feedback:
        return check_clock(feedback, datetime.now(UTC), settings.max_clock_skew)

    by_text = papp.regroup(
        app.dataframe(papp.topic("feedback")).apply(stage("check_clock", on_time)),
        text_key,
        name="text",
        key_serializer="str",
        key_deserializer="str",
        value_serializer=OriginalBytesSerializer(),
        value_deserializer=EventDeserializer(Feedback),
    )
    looked_up = by_text.apply(stage("analyze", enricher.step), stateful=True, metadata=True)
    looked_up.filter(_is_pending).sink(batcher)
    enriched = looked_up.filter(_is_enriched)
    papp.publish(enriched.apply(_event), "feedback-enriched", key=_feedback_id)
    if sink is not None:
        enriched.sink(sink)

    published = app.dataframe(papp.topic("feedback-enriched"))  # Quix: one dataframe a topic
    windows = (
        papp.regroup(
            published,
            _insights_group,
            name="insights",
            key_serializer="str",
            key_deserializer="str",
            value_serializer=JsonSerializer(),
            value_deserializer=EventDeserializer(EnrichedFeedback),
        )
        .tumbling_window(
            settings.window,
            grace_ms=settings.window_grace,
            name="insights",
            on_late=LateEvents("insights", "FEEDBACK_WINDOW_GRACE"),
        )
        .reduce(reducer=insights.add, initializer=insights.start)
        .final()
    )
    papp.publish(windows.apply(stage("summarize", _insight)), "feedback-insights",
                 key=_window_key)  # fmt: skip
    detector = AlertDetector(AlertRules.from_settings(settings))
    alerts = windows.apply(stage("detect_alerts", detector.detect), stateful=True, expand=True)
    papp.publish(alerts, "feedback-alerts", key=_alert_key)
    if isinstance(analyzer, Learnable):
        _learn(papp, settings, versions, analyzer, published)


def _learn(
    papp: PipelineApp,
    settings: FeedbackSettings,
    versions: AnalyzerVersions,
    shipped: Learnable,
    published: StreamingDataFrame,
) -> None:
    """Labels joined to their items (per feedback id), then learned from on one key.

    Both sides are re-keyed by feedback id, the items too although we key them so: the
    labels may come from any producer, whose partitioner may place a key elsewhere
    (``PipelineApp.rekeyed``), and only two re-keyed topics are partitioned alike.
    """
    join = LabelJoin(tuple(settings.categories), settings.label_ttl)
    learner = Learner(versions, shipped, LearnSettings(
        min_labels=settings.learn_min_labels, every=settings.learn_every,
        delay=settings.learn_delay, max_lessons=settings.learn_max_labels,
    ))  # fmt: skip
    items = papp.regroup(
        published, _feedback_id, name="feedback_id", key_serializer="str",
        key_deserializer="str", value_serializer=JsonSerializer(),
        value_deserializer=EventDeserializer(EnrichedFeedback),
    )  # fmt: skip
    events = items.concat(
        papp.rekeyed("feedback-labels", FeedbackLabel, _feedback_id, "feedback_id")
    )
    pairs = events.apply(stage("join_label", join.join), stateful=True).filter(
        lambda pair: pair is not None
    )
    lessons = papp.regroup(
        pairs, _learner_key, name="learner", key_serializer="str", key_deserializer="str",
        value_serializer=JsonSerializer(), value_deserializer="json",
    )  # fmt: skip
    records = lessons.apply(stage("learn", learner.learn), stateful=True, expand=True)
    papp.publish(records, "feedback-classifier", key=_version)


def _is_pending(item: Enriched | Pending) -> bool:
    return isinstance(item, Pending)


def _is_enriched(item: Enriched | Pending) -> bool:
    return isinstance(item, Enriched)


def _event(item: Enriched) -> EnrichedFeedback:
    return item.event


def _feedback_id(event: EnrichedFeedback | FeedbackLabel) -> str:
    return event.feedback_id


def _learner_key(_: object) -> str:
    return LEARNER_KEY


def _version(record: FeedbackClassifier) -> str:
    return record.version


def _insights_group(_: EnrichedFeedback) -> str:
    return INSIGHTS_GROUP


def _window_key(insight: FeedbackInsight) -> str:
    return insight.to_json_dict()["window_start"]  # type: ignore[no-any-return]


def _alert_key(alert: FeedbackAlert) -> str:
    return alert.category


def make_feedback_app(
    settings: StreamwiseSettings,
    feedback: FeedbackSettings,
    *,
    on_message_processed: Callable[[str, int, int], None] | None = None,
) -> PipelineApp:
    """The feedback application, committing (so letting batches go) every batch wait."""
    return make_app("feedback", settings, commit_interval_s=feedback.batch_wait_ms / 1000,
                    on_message_processed=on_message_processed)  # fmt: skip


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run feedback``."""
    feedback = load_settings(FeedbackSettings)
    papp = make_feedback_app(settings, feedback)
    sink = FeedbackVectorSink(
        lambda: backends.vector_collection(settings, feedback.collection),
        pipeline_embedder(settings, feedback),
    )
    analyzer = make_analyzer(settings, feedback)
    versions = AnalyzerVersions(analyzer)
    start_classifier_feed(settings, versions)  # every version shipped so far, before any item
    build(papp, feedback, analyzer, sink, versions)
    papp.run()
