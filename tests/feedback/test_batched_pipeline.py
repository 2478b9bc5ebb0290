"""Micro-batched enrichment end to end: real broker, real embedding model, a backlog.

What batching must not change: one bad item fails alone (its batch-mates are published,
it is dead-lettered with its original bytes), a replay calls no model, and every item's
analysis is the same whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import RunningBroker
from pipelines.feedback.analyzers.base import Analysis, Analyzer
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.generator import generate
from pipelines.feedback.settings import FeedbackSettings
from tests.conftest import isolated_settings
from tests.feedback.conftest import CountingAnalyzer
from tests.kafkaio import produce, read

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BREAK = "BREAK-THE-SCHEMA"


class SchemaBreaking:
    """The real analyzer, except that texts containing BREAK get a category outside the
    taxonomy (the fault injected): the schema check must catch it, item by item."""

    def __init__(self, inner: Analyzer) -> None:
        self._inner, self.identity = inner, inner.identity

    def analyze(self, text: str) -> Analysis:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        return [
            Analysis("neutral", 0.0, (), "weather", "broken") if BREAK in text else analysis
            for text, analysis in zip(texts, self._inner.analyze_many(texts), strict=True)
        ]


def backlog(count: int, seed: int = 5) -> list[dict[str, Any]]:
    return list(generate(count, start=START, spacing=timedelta(seconds=1), seed=seed,
                         unique=True))  # fmt: skip


def drain(settings: StreamwiseSettings, feedback: FeedbackSettings, analyzer: Analyzer,
          items: list[dict[str, Any]]) -> None:  # fmt: skip
    """Produce ``items`` first (a backlog), then run the pipeline until idle."""
    papp = make_feedback_app(settings, feedback)
    produce(settings, "feedback", [(item["feedback_id"], item) for item in items])
    build(papp, feedback, analyzer)
    papp.app.run(timeout=6)


def enriched_by_id(settings: StreamwiseSettings, count: int) -> dict[str, dict[str, Any]]:
    records = read(settings, "feedback-enriched", until=lambda r: len(r) >= count, idle_s=1)
    return {r.json()["feedback_id"]: r.json() for r in records}


@pytest.fixture(params=["at-least-once", "exactly-once"])
def guaranteed(request: pytest.FixtureRequest, settings: StreamwiseSettings) -> StreamwiseSettings:
    """The deployment under each guarantee: under exactly-once the batcher's answers are
    part of the checkpoint's transaction, and only committed ones are read back."""
    return settings.model_copy(update={"processing_guarantee": request.param})


def test_one_schema_breaking_item_is_dead_lettered_alone_and_its_batch_is_published(
    guaranteed: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    settings = guaranteed
    items = backlog(12)
    items[5]["text"] = f"{BREAK} {items[5]['text']}"
    feedback = FeedbackSettings(batch_max=32, batch_wait_ms=2_000)  # all in one batch
    drain(settings, feedback, SchemaBreaking(embedding_analyzer), items)

    broken = items[5]
    enriched = enriched_by_id(settings, len(items) - 1)
    assert sorted(enriched) == sorted(i["feedback_id"] for i in items if i is not broken)
    [dead] = read(settings, "feedback-dlq", until=lambda r: len(r) >= 1, idle_s=1)
    assert dead.key == broken["feedback_id"].encode()
    assert dead.json() == broken  # the bytes the producer sent
    assert dead.header("streamwise.stage") == "analyze"
    assert dead.header("streamwise.error").startswith("ModelOutputInvalid")
    assert "weather" in dead.header("streamwise.detail.raw")
    assert not [name for name in dead.headers if name.startswith("streamwise.internal.")]
    for record in read(settings, "feedback-enriched", until=lambda r: len(r) >= 11):
        assert not [name for name in record.headers if name.startswith("streamwise.")]


def test_a_replayed_backlog_is_served_from_the_cache_without_a_model_call(
    guaranteed: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    settings = guaranteed
    items, feedback = backlog(40), FeedbackSettings()
    analyzer = CountingAnalyzer(embedding_analyzer)
    drain(settings, feedback, analyzer, items)
    assert sum(analyzer.calls.values()) == len(items)  # each text analyzed once
    first = enriched_by_id(settings, len(items))

    analyzer.calls.clear()
    replayed = [{**item, "feedback_id": f"again-{item['feedback_id']}"} for item in items]
    drain(settings, feedback, analyzer, replayed)
    assert sum(analyzer.calls.values()) == 0
    again = enriched_by_id(settings, 2 * len(items))
    for item in items:
        copy = again[f"again-{item['feedback_id']}"]
        assert {k: v for k, v in copy.items() if k != "feedback_id"} == {
            k: v for k, v in first[item["feedback_id"]].items() if k != "feedback_id"
        }


def test_every_item_gets_the_same_analysis_whatever_the_batch_size(
    broker: RunningBroker, tmp_path: Path, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    items = backlog(40, seed=9)
    outputs = []
    for batch_max in (1, 32):
        settings = isolated_settings(broker, tmp_path / f"batch-{batch_max}")
        drain(settings, FeedbackSettings(batch_max=batch_max), embedding_analyzer, items)
        outputs.append(enriched_by_id(settings, len(items)))
    one, many = outputs
    assert sorted(one) == sorted(many) == sorted(item["feedback_id"] for item in items)
    for feedback_id, alone in one.items():
        batched = many[feedback_id]
        assert batched["sentiment_score"] == pytest.approx(alone["sentiment_score"], abs=2e-3)
        exact = {k: v for k, v in alone.items() if k != "sentiment_score"}
        assert {k: v for k, v in batched.items() if k != "sentiment_score"} == exact
