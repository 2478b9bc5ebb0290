"""The pure parts of label learning: the join, the lesson store, prototypes, versions in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipelines.common.events import EnrichedFeedback, FeedbackClassifier, FeedbackLabel
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.prototypes import CategorySpace, learn_prototypes
from pipelines.feedback.analyzers.versions import AnalyzerVersions
from pipelines.feedback.learning import LabelJoin, Labelled, classifier_version
from state.labels import Lesson, LessonStore
from tests.dict_state import DictState

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
JOIN = LabelJoin(("delivery", "billing", "other"), timedelta(days=90))


def item(fid: str = "f1", text: str = "late parcel") -> EnrichedFeedback:
    return EnrichedFeedback(feedback_id=fid, ts=T0, source="email", text=text,
                            sentiment="neutral", sentiment_score=0.0, key_phrases=[],
                            category="other", model="m")  # fmt: skip


def label(sentiment: str | None = "negative", category: str | None = "delivery",
          minutes: int = 5) -> FeedbackLabel:  # fmt: skip
    return FeedbackLabel.model_validate({"feedback_id": "f1", "ts": T0 + timedelta(minutes=minutes),
                                         "sentiment": sentiment, "category": category})  # fmt: skip


def test_a_label_before_its_item_waits_for_it_and_a_later_label_replaces_it() -> None:
    state = DictState()
    assert JOIN.join(label(), state) is None
    assert JOIN.join(item(), state) == Labelled("f1", "late parcel", "negative", "delivery")
    assert JOIN.join(label("positive", None, minutes=9), state) == Labelled(
        "f1", "late parcel", "positive", None
    )
    assert JOIN.join(label("neutral", minutes=7), state) is None  # older, delivered late


def test_a_label_naming_no_known_category_is_refused_and_an_empty_one_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="'weather' is not one of"):
        JOIN.join(label(category="weather"), DictState())
    with pytest.raises(ValueError, match="needs a sentiment, a category or both"):
        label(sentiment=None, category=None)


def test_the_lesson_store_keeps_the_newest_lessons_and_their_vectors_as_float32() -> None:
    store = LessonStore(DictState(), limit=2)
    for n in range(3):
        store.put(Lesson(f"f{n}", "negative", None, (0.1 * n, 1.0), (1.0, 0.0)))
    store.put(Lesson("f1", "positive", None, (0.5, 0.25), (0.0, 1.0)))  # relabelled: newest
    assert store.ids() == ["f2", "f1"]
    assert store.get("f0") is None
    assert store.get("f1") == Lesson("f1", "positive", None, (0.5, 0.25), (0.0, 1.0))


def test_a_learned_prototype_wins_the_texts_its_category_is_worded_like_here() -> None:
    space = CategorySpace(np.eye(3)[:2], ("delivery", "billing"), min_similarity=0.3)
    drifted = [0.1, 0.2, 0.97]  # the deployment's own wording: near no taxonomy phrase
    assert space.category(drifted) == "other"
    learned = learn_prototypes([drifted, [0.0, 0.1, 0.99]], ["billing", "billing"])
    assert space.with_learned(learned).category(drifted) == "billing"
    assert space.with_learned(learned).category([1.0, 0.0, 0.0]) == "delivery"  # kept


def record(analyzer: EmbeddingAnalyzer, version: str, effective: datetime, *,
           shipped: bool = True, model: str | None = None) -> FeedbackClassifier:  # fmt: skip
    head = replace(analyzer.head, metadata={"version": version})
    return FeedbackClassifier(
        version=version, model=model or analyzer.refitted(head, {}).model_id, ts=effective,
        effective_from=effective, shipped=shipped, labels=10, held_back=2,
        head=head.to_json() if shipped else None, prototypes={},
    )  # fmt: skip


def test_each_item_is_analyzed_by_the_version_in_effect_at_its_own_time(
    embedding_analyzer: EmbeddingAnalyzer,
) -> None:
    versions = AnalyzerVersions(embedding_analyzer)
    assert versions.add(record(embedding_analyzer, "v2", T0 + timedelta(hours=2)))
    assert versions.add(record(embedding_analyzer, "v1", T0 + timedelta(hours=1)))
    assert not versions.add(record(embedding_analyzer, "v3", T0, shipped=False))
    assert not versions.add(record(embedding_analyzer, "v4", T0, model="embedding:another+x"))
    assert versions.at(T0).identity == embedding_analyzer.identity
    assert versions.at(T0 + timedelta(hours=1)).model_id.endswith("+learned-v1")
    assert versions.at(T0 + timedelta(hours=5)).model_id.endswith("+learned-v2")
    assert versions.latest().model_id.endswith("+learned-v2")
    assert versions.knows("v1")
    assert not versions.knows("v3")


def test_a_version_names_the_labels_learned_in_any_order_and_changes_with_them() -> None:
    lessons = [Lesson(f"f{n}", "negative", "billing" if n % 2 else None, (0.0,), (1.0,))
               for n in range(5)]  # fmt: skip
    assert classifier_version("h1", lessons) == classifier_version("h1", lessons[::-1])
    assert classifier_version("h1", lessons) != classifier_version("h1", lessons[:4])
    relabelled = [*lessons[:4], replace(lessons[4], sentiment="positive")]
    assert classifier_version("h1", lessons) != classifier_version("h1", relabelled)
    assert classifier_version("h1", lessons) != classifier_version("h2", lessons)
