"""The demo's support agent: true sentiments, a mixed batch of labels, the refit's summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.events import FeedbackClassifier, FeedbackLabel
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.generator import PHRASES, generate
from pipelines.scenarios.feedback import CLASSIFIER_WAIT_S, LABEL_AFTER_S, LEARN_ENV, scenario
from pipelines.scenarios.labelling import (
    BATCH,
    Label,
    classifier_lines,
    relabel,
    true_label,
)

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def test_every_generated_text_is_traced_back_to_the_one_phrasing_it_was_written_from() -> None:
    stream = generate(3000, start=NOW, spacing=timedelta(seconds=1), seed=11)
    labels = [true_label(item["text"]) for item in stream]
    assert None not in labels
    assert {label for label in labels if label} == set(PHRASES)  # every phrasing's pair occurs
    assert true_label("Thanks Aisha, great help on the chat today!") == (
        "customer support",
        "positive",
    )
    assert true_label(
        "The app crashes every time I open my basket. Call me back on +44 20 7946 1234."
    ) == ("app/website", "negative")
    assert true_label("Nothing like any phrasing.") is None


def ids(n: int, prefix: str) -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


def test_the_agent_corrects_mistakes_first_and_confirms_right_answers_too() -> None:
    truth: dict[str, Label] = dict.fromkeys(ids(100, "fb"), ("billing", "negative"))
    enriched = {
        i: ("billing", "positive") if n < 6 else ("other", "negative") if n < 10 else truth[i]
        for n, i in enumerate(ids(100, "fb"))
    }
    batch = relabel(enriched, truth, NOW)
    assert (len(batch.labels), batch.corrections, batch.confirmations) == (BATCH, 10, BATCH - 10)
    assert (batch.wrong_sentiment, batch.wrong_category) == (6, 4)
    assert {label.feedback_id for label in batch.labels} >= set(ids(10, "fb"))
    assert {(label.category, label.sentiment, label.ts) for label in batch.labels} == {
        ("billing", "negative", NOW)
    }
    assert relabel(enriched, truth, NOW) == batch  # the same pick every time

    mostly_wrong = {i: truth[i] if n < 30 else ("billing", "neutral") for n, i in
                    enumerate(ids(100, "fb"))}  # fmt: skip
    batch = relabel(mostly_wrong, truth, NOW)
    assert (batch.corrections, batch.confirmations) == (int(BATCH * 0.6), BATCH - int(BATCH * 0.6))
    all_wrong = relabel(dict.fromkeys(ids(100, "fb"), ("billing", "neutral")), truth, NOW)
    assert all_wrong.corrections == BATCH  # nothing right to confirm: all corrections
    few = relabel({"fb-1": ("billing", "positive"), "unknown": ("other", "neutral")}, truth, NOW)
    assert [(label.feedback_id, few.corrections) for label in few.labels] == [("fb-1", 1)]


def refit(**fields: Any) -> dict[str, Any]:
    return FeedbackClassifier.model_validate(
        {"version": "a1b2c3", "model": "embedding:minilm+sentiment-a1b2c3", "ts": NOW,
         "effective_from": NOW + timedelta(seconds=30), "shipped": True, "labels": 40,
         "held_back": 9, "accuracy": 8 / 9, "previous_accuracy": 5 / 9,
         "category_accuracy": 1.0, "previous_category_accuracy": 6 / 9, **fields}
    ).to_json_dict()  # fmt: skip


def test_the_summary_says_version_and_accuracy_before_and_after_and_why_it_shipped() -> None:
    truth: dict[str, Label] = {"fb-1": ("billing", "negative"), "fb-2": ("delivery", "positive")}
    batch = relabel({"fb-1": ("billing", "positive"), "fb-2": truth["fb-2"]}, truth, NOW)
    lines = classifier_lines(refit(), batch, "embedding:minilm+sentiment-v1", 40)
    assert lines == [
        "classifier: a support agent relabelled 2 items: 1 the classifier got wrong "
        "(1 sentiment, 0 category), 1 it got right",
        "classifier: embedding:minilm+sentiment-v1 -> embedding:minilm+sentiment-a1b2c3 "
        "(version a1b2c3)",
        "classifier: shipped, for items from 20:00:30 UTC: not less accurate than the version "
        "in use",
        "classifier: on 9 held-back labels (of 40): sentiment accuracy 0.56 -> 0.89, "
        "category accuracy 0.67 -> 1.00",
    ]
    worse = classifier_lines(refit(shipped=False, accuracy=4 / 9), batch, None, 40)
    assert worse[2] == "classifier: not shipped: less accurate than the version in use"
    none_held = classifier_lines(
        refit(shipped=False, held_back=0, accuracy=None, previous_accuracy=None,
              category_accuracy=None, previous_category_accuracy=None), batch, None, 40
    )  # fmt: skip
    assert none_held[2:] == [
        "classifier: not shipped: no label was held back to validate it",
        "classifier: on 0 held-back labels (of 40): sentiment accuracy - -> -, "
        "category accuracy - -> -",
    ]
    everything: dict[str, Label] = dict.fromkeys(ids(50, "fb"), ("billing", "negative"))
    full = relabel(everything, everything, NOW)
    assert classifier_lines(None, full, None, 40)[1] == (
        "classifier: no feedback-classifier record within 40 s of the labels: "
        "this feedback pipeline does not learn from feedback-labels (yet)"
    )


def enriched(value: dict[str, Any], label: tuple[str, str]) -> dict[str, Any]:
    category, sentiment = label
    return {**value, "category": category, "sentiment": sentiment,
            "model": "embedding:minilm+sentiment-v1"}  # fmt: skip


def test_once_the_stream_is_enriched_the_agent_labels_a_batch_and_the_demo_waits_for_a_refit() -> (
    None
):
    demo = scenario(StreamwiseSettings())
    demo.now, demo.clock = NOW, lambda: NOW
    sends = list(demo.events(30))
    assert demo.pipeline_env == LEARN_ENV == {"FEEDBACK_LEARN_MIN_LABELS": str(BATCH)}
    assert len(sends) > BATCH
    for n, send in enumerate(sends[:-1]):
        category, sentiment = demo.truth[send.key]
        said = (category, sentiment) if n % 4 else ("other", sentiment)  # one in four wrong
        assert demo.react("feedback-enriched", enriched(send.value, said), 20.0) == []
    assert demo.tick(25.0) == []
    assert (
        demo.waiting(25.0)
        == f"feedback enriched {len(sends) - 1} of {len(sends)} before relabelling"
    )
    labels = demo.react("feedback-enriched", enriched(sends[-1].value, ("other", "neutral")), 26.0)

    assert len(labels) == BATCH
    assert {s.topic for s in labels} == {"feedback-labels"}
    values = [FeedbackLabel.model_validate(s.value) for s in labels]
    assert [s.key for s in labels] == [label.feedback_id for label in values]
    assert all(
        (label.category, label.sentiment) == demo.truth[label.feedback_id] for label in values
    )
    assert demo.batch is not None
    assert 0 < demo.batch.corrections < BATCH
    assert demo.tick(27.0) == []  # one batch
    assert demo.waiting(30.0) == (
        f"waiting for the feedback classifier to refit on {BATCH} labels (4 s of at most 40 s)"
    )
    assert demo.waiting(26.0 + CLASSIFIER_WAIT_S + 1) is None  # bounded
    assert demo.watch["feedback-classifier"](refit()) == (
        "CLASSIFIER a1b2c3 shipped: sentiment 0.56 -> 0.89, category 0.67 -> 1.00 "
        "on 9 held-back labels"
    )
    demo.react("feedback-classifier", refit(), 31.0)
    assert demo.waiting(31.0) is None
    summary = demo.summary({"feedback-classifier": [refit()]})
    assert summary[3] == (
        "classifier: embedding:minilm+sentiment-v1 -> embedding:minilm+sentiment-a1b2c3 "
        "(version a1b2c3)"
    )


def test_without_every_item_enriched_the_agent_labels_what_it_has_once_the_stream_is_over() -> None:
    demo = scenario(StreamwiseSettings())
    sends = list(demo.events(10))
    for send in sends[:20]:
        demo.react("feedback-enriched", enriched(send.value, demo.truth[send.key]), 5.0)
    last_sent = sends[-1].at_s
    assert demo.tick(last_sent + LABEL_AFTER_S - 1) == []
    labels = demo.tick(last_sent + LABEL_AFTER_S + 1)
    assert len(labels) == 20
    assert demo.batch is not None
    assert demo.batch.corrections == 0
    assert demo.waiting(last_sent + LABEL_AFTER_S + 2) is None  # too few for a refit: no wait
    assert demo.summary({})[3] == (
        f"classifier: no refit: 20 labels are fewer than the {BATCH} the demo's feedback "
        "pipeline waits for (FEEDBACK_LEARN_MIN_LABELS; a longer --seconds gives more items)"
    )
