"""The feedback pipeline end to end on the real broker with the real embedding model.

One module-wide run over a hand-made stream; the tests check its outputs from several sides.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.common import backends
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.settings import FeedbackSettings
from pipelines.feedback.sinks import FeedbackVectorSink
from tests.feedback.conftest import CountingAnalyzer
from tests.kafkaio import Record, produce, read

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EMAIL, PHONE, CARD = "jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
PII_PATTERNS = [re.escape(EMAIL), re.escape(PHONE), r"4111[ -]?1111[ -]?1111[ -]?1111"]

LOVE = "Absolutely love the new headphones, fantastic sound and fast delivery!"
LATE = "My parcel arrived three days late and the box was damaged. Very disappointed."


def item(fid: str, at_s: float, text: str, source: str, rating: int | None = None,
         **extra: Any) -> dict[str, Any]:  # fmt: skip
    value = {"feedback_id": fid, "ts": (T0 + timedelta(seconds=at_s)).isoformat(),
             "source": source, "text": text, **extra}  # fmt: skip
    if rating is not None:
        value["rating"] = rating
    return value


# Window [10:00, 10:01): 7 items, 2 texts sent twice under other ids.
# fmt: off
FIRST_WINDOW = [
    item("f1", 1, LOVE, "app_review", 5),
    item("f2", 5, LATE, "email", 2),
    item(
        "f3",
        9,
        f"Please call me on {PHONE} or mail {EMAIL}: card {CARD} was charged twice!",
        "chat",
        None,
        customer_id="c-9",
        channel_note=f"reach me at {EMAIL}",
    ),
    item("f4", 20, "The app crashes every time I open my basket.", "app_review", 1),
    item("f5", 30, LOVE, "social"),  # duplicate text of f1
    item("f6", 40, LATE, "survey", 3),  # duplicate text of f2
    item("f7", 50, "Way too expensive compared to last year.", "survey", 2),
]
# Later items close the first window (grace 30 s) and fall in windows of their own.
LATER = [
    item("f8", 100, "Support was friendly and solved my issue in minutes.", "chat", 5),
    item("f9", 200, LOVE, "email", 4),  # duplicate again, much later
]
# fmt: on
# Sent once the rest is processed, past the grace: closes every window above. (A backlog
# over 2 partitions reaches the insights out of event-time order, hence the long grace.)
CLOSER = item("closer", 45 * 60, LOVE, "chat")
GRACE = timedelta(minutes=30)


def top_five(counts: Counter[str], field: str) -> list[dict[str, Any]]:
    """Most common first, ties by name: the ranking the insight promises."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return [{field: name, "count": n} for name, n in ranked]


@dataclass(frozen=True)
class Run:
    settings: StreamwiseSettings
    analyzer: CountingAnalyzer
    enriched: dict[str, dict[str, Any]]
    enriched_records: list[Record]
    insights: list[dict[str, Any]]
    alerts: list[Record]


@pytest.fixture(scope="module")
def run(module_settings: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer) -> Run:
    settings = module_settings
    feedback = FeedbackSettings(window_grace=GRACE)
    analyzer = CountingAnalyzer(embedding_analyzer)
    for items in (FIRST_WINDOW + LATER, [CLOSER]):
        papp = make_feedback_app(settings, feedback)  # creates the topics
        produce(settings, "feedback", [(v["feedback_id"], v) for v in items])
        sink = FeedbackVectorSink(
            lambda: backends.vector_collection(settings, feedback.collection),
            backends.embedder(settings),
        )
        build(papp, feedback, analyzer, sink)
        papp.app.run(timeout=8)

    total = len(FIRST_WINDOW) + len(LATER) + 1
    records = read(settings, "feedback-enriched", until=lambda r: len(r) >= total)
    insights = read(settings, "feedback-insights", until=lambda r: len(r) >= 3)
    alerts = read(settings, "feedback-alerts", timeout_s=3)
    return Run(
        settings,
        analyzer,
        {r.json()["feedback_id"]: r.json() for r in records},
        records,
        [r.json() for r in insights],
        alerts,
    )


def test_every_item_is_enriched_with_contract_fields_keyed_by_feedback_id(run: Run) -> None:
    assert sorted(run.enriched) == sorted(v["feedback_id"] for v in [*FIRST_WINDOW, *LATER, CLOSER])
    assert len(run.enriched_records) == len(run.enriched)
    for record in run.enriched_records:
        value = record.json()
        assert record.key == value["feedback_id"].encode()
        assert value["sentiment"] in {"positive", "negative", "neutral"}
        assert -1 <= value["sentiment_score"] <= 1
        assert value["model"].startswith("embedding:sentence-transformers/all-MiniLM-L6-v2")
        assert 1 <= len(value["key_phrases"]) <= 3
    assert run.enriched["f3"]["customer_id"] == "c-9"  # optional fields pass through
    assert run.enriched["f2"]["rating"] == 2


def test_real_texts_get_the_sentiment_and_category_a_reader_would_give(run: Run) -> None:
    love, late = run.enriched["f1"], run.enriched["f2"]
    assert love["sentiment"] == "positive"
    assert love["sentiment_score"] > 0.5
    assert late["sentiment"] == "negative"
    assert late["category"] == "delivery"
    assert run.enriched["f4"]["category"] == "app/website"
    assert run.enriched["f7"]["category"] == "pricing"
    assert run.enriched["f8"]["category"] == "customer support"
    assert run.enriched["f8"]["sentiment"] == "positive"
    assert "charged twice" in run.enriched["f3"]["key_phrases"]


def test_a_duplicate_text_calls_the_model_once_and_gets_the_same_answer(run: Run) -> None:
    assert sum(run.analyzer.calls.values()) == 6  # 10 items, 6 distinct texts, 2 runs
    assert set(run.analyzer.calls.values()) == {1}
    fields = ("sentiment", "sentiment_score", "key_phrases", "category", "model")
    for copies in (("f1", "f5", "f9", "closer"), ("f2", "f6")):
        answers = [{k: run.enriched[fid][k] for k in fields} for fid in copies]
        assert all(answer == answers[0] for answer in answers)


def test_pii_is_masked_before_the_model_and_in_everything_that_leaves(run: Run) -> None:
    seen_by_model = " ".join(run.analyzer.calls)
    f3 = run.enriched["f3"]
    assert "[email]" in f3["text"]
    assert "[phone]" in f3["text"]
    assert "[card ****1111]" in f3["text"]
    assert f3["channel_note"] == "reach me at [email]"
    collection = backends.vector_collection(run.settings, FeedbackSettings().collection)
    stored = collection.get()
    outputs = [
        seen_by_model,
        *(r.value.decode() for r in run.enriched_records if r.value),
        *(str(i) for i in run.insights),
        *(r.value.decode() for r in run.alerts if r.value),
        *(f"{s.document} {s.metadata}" for s in stored),
    ]
    for text in outputs:
        for pattern in PII_PATTERNS:
            assert not re.search(pattern, text), (pattern, text)


def test_enriched_items_are_searchable_in_chroma(run: Run, embedding_analyzer: Any) -> None:
    collection = backends.vector_collection(run.settings, FeedbackSettings().collection)
    assert collection.count() == len(run.enriched)
    query = backends.embedder(run.settings).embed(["package delivered late, damaged box"])[0]
    best = collection.query(query, k=2)
    assert {hit.id for hit in best} == {"f2", "f6"}
    assert best[0].metadata["category"] == "delivery"
    assert best[0].metadata["source"] in {"email", "survey"}


def test_the_first_window_equals_a_hand_computation(run: Run) -> None:
    first = next(i for i in run.insights if i["window_start"] == "2026-11-20T10:00:00Z")
    assert first["window_end"] == "2026-11-20T10:01:00Z"
    assert first["count"] == 7
    assert first["source_counts"] == {"app_review": 2, "chat": 1, "email": 1, "social": 1,
                                      "survey": 2}  # fmt: skip
    assert first["avg_rating"] == round((5 + 2 + 1 + 3 + 2) / 5, 3)
    sentiments = Counter(run.enriched[v["feedback_id"]]["sentiment"] for v in FIRST_WINDOW)
    assert first["sentiment_counts"] == {s: sentiments.get(s, 0)
                                         for s in ("positive", "neutral", "negative")}  # fmt: skip
    categories = Counter(run.enriched[v["feedback_id"]]["category"] for v in FIRST_WINDOW)
    assert first["top_categories"] == top_five(categories, "category")
    phrases = Counter(
        p for v in FIRST_WINDOW for p in run.enriched[v["feedback_id"]]["key_phrases"]
    )
    assert first["top_key_phrases"] == top_five(phrases, "phrase")
    second = next(i for i in run.insights if i["window_start"] == "2026-11-20T10:01:00Z")
    assert second["count"] == 1
    assert second["avg_rating"] == 5.0
    assert [i["count"] for i in run.insights if i["window_start"] > "2026-11-20T10:01"] == [1, 1]
