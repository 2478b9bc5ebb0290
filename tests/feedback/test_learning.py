"""Label corrections end to end: real broker, real MiniLM and sentiment head.

Labels on ``feedback-labels`` meet the items they correct, a refit is made after
``FEEDBACK_LEARN_MIN_LABELS`` of them and published on ``feedback-classifier``; items
stamped after it carry the refit's ``model``, replays of earlier items keep theirs, and
a refit that validates worse than the head in use is recorded but not shipped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.events import FeedbackClassifier
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.refit import DEFAULT_HOLDOUT_PERCENT, held_back
from pipelines.feedback.analyzers.versions import AnalyzerVersions
from pipelines.feedback.classifier_feed import start_classifier_feed
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.generator import generate
from pipelines.feedback.settings import FeedbackSettings
from pipelines.scenarios.labelling import true_label
from tests.kafkaio import produce, read

LABELS = 24
FLIP = {"positive": "negative", "negative": "positive", "neutral": "negative"}


def truth(text: str) -> tuple[str, str]:
    """The (category, sentiment) the generator wrote ``text`` for (the demo's agent knows it so)."""
    found = true_label(text)
    assert found is not None, f"no phrasing of the generator fits {text!r}"
    return found


def items(count: int, start: datetime, seed: int) -> list[dict[str, Any]]:
    return list(generate(count, start=start, spacing=timedelta(seconds=1), seed=seed,
                         unique=True))  # fmt: skip


def learning(**overrides: Any) -> FeedbackSettings:
    return FeedbackSettings(model_threads=None, learn_min_labels=LABELS, learn_every=1000,
                            learn_delay=timedelta(0), **overrides)  # fmt: skip


def run(settings: StreamwiseSettings, feedback: FeedbackSettings, analyzer: EmbeddingAnalyzer,
        topic: str, messages: list[tuple[str, dict[str, Any]]]) -> None:  # fmt: skip
    """Produce ``messages``, then run the pipeline (as a new process would: the versions
    read from ``feedback-classifier`` first) until idle."""
    papp = make_feedback_app(settings, feedback)
    produce(settings, topic, messages)
    versions = AnalyzerVersions(analyzer)
    feed = start_classifier_feed(settings, versions)
    try:
        build(papp, feedback, analyzer, versions=versions)
        papp.app.run(timeout=8)
    finally:
        feed.stop()


def keyed(batch: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(item["feedback_id"], item) for item in batch]


def enriched(settings: StreamwiseSettings, count: int) -> list[dict[str, Any]]:
    records = read(settings, "feedback-enriched", until=lambda r: len(r) >= count, idle_s=1)
    return [record.json() for record in records]


def classifier_records(settings: StreamwiseSettings) -> list[FeedbackClassifier]:
    records = read(settings, "feedback-classifier", until=lambda r: len(r) >= 1, idle_s=2)
    return [FeedbackClassifier.model_validate(record.json()) for record in records]


def labels(batch: list[dict[str, Any]], *, wrong_in_training: bool = False,
           with_category: bool = True) -> list[tuple[str, dict[str, Any]]]:  # fmt: skip
    """A label per item of ``batch`` saying what it is (or, for the labels a refit trains
    on, what it is not); the held-back ones always tell the truth."""
    labelled = []
    for item in batch:
        category, sentiment = truth(item["text"])
        training = not held_back(item["feedback_id"], DEFAULT_HOLDOUT_PERCENT)
        if wrong_in_training and training:
            sentiment = FLIP[sentiment]
        label = {"feedback_id": item["feedback_id"], "ts": datetime.now(UTC).isoformat(),
                 "sentiment": sentiment, "labeller": "sam"}  # fmt: skip
        if with_category:
            label["category"] = category
        labelled.append((item["feedback_id"], label))
    return labelled


def test_a_refit_after_n_labels_analyzes_later_items_and_never_replays_of_earlier_ones(
    settings: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    feedback, shipped = learning(), embedding_analyzer.model_id
    earlier = items(40, datetime.now(UTC) - timedelta(minutes=30), seed=11)
    run(settings, feedback, embedding_analyzer, "feedback", keyed(earlier))
    first = {e["feedback_id"]: e for e in enriched(settings, len(earlier))}
    assert {e["model"] for e in first.values()} == {shipped}

    run(settings, feedback, embedding_analyzer, "feedback-labels", labels(earlier[:LABELS]))
    [record] = classifier_records(settings)
    assert record.shipped
    assert record.labels == LABELS
    assert record.held_back == sum(held_back(i["feedback_id"], DEFAULT_HOLDOUT_PERCENT)
                                   for i in earlier[:LABELS])  # fmt: skip
    assert record.held_back > 0
    assert record.accuracy is not None
    assert record.previous_accuracy is not None
    assert record.accuracy >= record.previous_accuracy
    assert record.model != shipped
    assert record.version in record.model

    later = items(10, record.effective_from + timedelta(seconds=1), seed=12)
    run(settings, feedback, embedding_analyzer, "feedback", keyed(later))
    run(settings, feedback, embedding_analyzer, "feedback", keyed(earlier))
    seen = enriched(settings, 2 * len(earlier) + len(later))
    assert {e["model"] for e in seen if e["feedback_id"].startswith("fb-12-")} == {record.model}
    twice: dict[str, list[dict[str, Any]]] = {}
    for event in seen:
        twice.setdefault(event["feedback_id"], []).append(event)  # one key: one partition, in order
    assert all(len(twice[i["feedback_id"]]) == 2 for i in earlier)
    assert all(twice[i["feedback_id"]][1] == first[i["feedback_id"]] for i in earlier)  # as before


def test_a_refit_that_validates_worse_than_the_head_in_use_is_recorded_not_shipped(
    settings: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    feedback, shipped = learning(), embedding_analyzer.model_id
    earlier = items(LABELS, datetime.now(UTC) - timedelta(minutes=30), seed=21)
    run(settings, feedback, embedding_analyzer, "feedback", keyed(earlier))
    taught = labels(earlier, wrong_in_training=True, with_category=False)
    run(settings, feedback, embedding_analyzer, "feedback-labels", taught)
    [record] = classifier_records(settings)
    assert not record.shipped
    assert record.head is None
    assert record.accuracy is not None
    assert record.previous_accuracy is not None
    assert record.accuracy < record.previous_accuracy
    later = items(5, datetime.now(UTC), seed=22)
    run(settings, feedback, embedding_analyzer, "feedback", keyed(later))
    seen = enriched(settings, len(earlier) + len(later))
    assert {e["model"] for e in seen} == {shipped}
