"""The analysis batcher on its own: when a batch closes, what it answers, what one bad item
spoils (nothing but itself). Records it would produce are collected instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from models import ModelOutputInvalid, validate_answer
from pipelines.feedback.analyzers.base import Analysis, analysis_schema
from pipelines.feedback.batching import (
    ANALYSIS_HEADER,
    AnalysisBatcher,
    AnalysisFailed,
    Pending,
    answer_headers,
    read_answer,
)
from pipelines.feedback.settings import FeedbackSettings

SCHEMA = analysis_schema(FeedbackSettings().categories, 3)
GOOD = Analysis("negative", -0.7, ("late parcel",), "delivery", "scripted", vector=(0.6, 0.8))
ORIGIN = [("streamwise.origin.topic", b"feedback"), ("streamwise.origin.offset", b"7")]


@dataclass
class ScriptedAnalyzer:
    """Answers GOOD, or an answer outside the schema for texts containing 'BREAK' (the
    fault injected), and records every call."""

    identity: str = "scripted-v1"
    calls: list[list[str]] = field(default_factory=list)
    raises: bool = False  # a broken text fails the whole call (as a looping LLM analyzer does)

    def analyze(self, text: str) -> Analysis:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        self.calls.append(list(texts))
        if self.raises and any("BREAK" in t for t in texts):
            raise ModelOutputInvalid(raw="gibberish", reason="not JSON")
        return [Analysis("furious", 0.0, (), "weather", "scripted") if "BREAK" in t else GOOD
                for t in texts]  # fmt: skip


@dataclass
class Produced:
    records: list[tuple[str, int, bytes | None, bytes | None, list[tuple[str, bytes]], int]] = (
        field(default_factory=list)
    )

    def __call__(self, topic: str, partition: int, key: bytes | None, value: bytes | None,  # noqa: PLR0917
                 headers: list[tuple[str, bytes]], timestamp: int) -> None:  # fmt: skip
        self.records.append((topic, partition, key, value, headers, timestamp))

    def answers(self) -> list[Analysis | AnalysisFailed | None]:
        return [read_answer(headers) for *_, headers, _ in self.records]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def batcher(analyzer: ScriptedAnalyzer, produced: Produced, clock: Clock | None = None,
            max_items: int = 3) -> AnalysisBatcher:  # fmt: skip
    return AnalysisBatcher(lambda _: analyzer, lambda answer: validate_answer(answer, SCHEMA),
                           produced,
                           max_items=max_items, max_wait_s=0.1, attempts=2,
                           clock=clock or Clock())  # fmt: skip


def add(target: AnalysisBatcher, text: str, offset: int, *, cached: Analysis | None = None,
        partition: int = 0) -> None:  # fmt: skip
    item = Pending(text, f'{{"text": "{text}"}}'.encode(), "scripted", cached)
    target.add(item, f"key-{text}", 1_000 + offset, ORIGIN, "text-topic", partition, offset)


def test_a_batch_closes_when_full_and_answers_in_arrival_order_to_the_same_partition() -> None:
    analyzer, produced = ScriptedAnalyzer(), Produced()
    target = batcher(analyzer, produced)
    add(target, "a", 1, partition=1)
    add(target, "b", 2)
    assert produced.records == []  # still filling
    add(target, "a", 3)  # the same text again: analyzed once
    assert analyzer.calls == [["a", "b"]]
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in produced.records] == [
        ("text-topic", 1, b"key-a", b'{"text": "a"}', 1_001),
        ("text-topic", 0, b"key-b", b'{"text": "b"}', 1_002),
        ("text-topic", 0, b"key-a", b'{"text": "a"}', 1_003),
    ]
    assert produced.answers() == [GOOD, GOOD, GOOD]
    assert all(r[4][: len(ORIGIN)] == ORIGIN for r in produced.records)  # origin kept


def test_a_batch_closes_when_its_oldest_item_has_waited_long_enough() -> None:
    analyzer, produced, clock = ScriptedAnalyzer(), Produced(), Clock()
    target = batcher(analyzer, produced, clock, max_items=32)
    add(target, "a", 1)
    clock.now = 0.05
    add(target, "b", 2)
    assert analyzer.calls == []
    clock.now = 0.11
    add(target, "c", 3)
    assert analyzer.calls == [["a", "b", "c"]]


def test_flush_answers_what_waits_and_a_cached_analysis_rides_along_without_a_call() -> None:
    analyzer, produced = ScriptedAnalyzer(), Produced()
    target = batcher(analyzer, produced, max_items=32)
    cached = Analysis("positive", 0.9, ("great",), "product quality", "scripted")
    add(target, "x", 1, cached=cached)
    target.flush()
    assert analyzer.calls == []
    assert produced.answers() == [cached]
    target.flush()  # nothing waits: nothing happens
    assert len(produced.records) == 1


def test_a_copy_sent_after_its_first_batch_left_reuses_that_answer() -> None:
    analyzer, produced = ScriptedAnalyzer(), Produced()
    target = batcher(analyzer, produced, max_items=32)
    add(target, "a", 1)
    target.flush()
    add(target, "a", 2)  # missed the cache: the first answer was still on its way
    target.flush()
    assert analyzer.calls == [["a"]]
    assert produced.answers() == [GOOD, GOOD]


def test_one_schema_breaking_item_fails_alone_and_its_batch_mates_are_answered() -> None:
    analyzer, produced = ScriptedAnalyzer(), Produced()
    target = batcher(analyzer, produced, max_items=32)
    for offset, text in enumerate(["a", "BREAK me", "b"]):
        add(target, text, offset)
    target.flush()
    first, broken, last = produced.answers()
    assert first == last == GOOD
    assert isinstance(broken, AnalysisFailed)
    assert broken.error.startswith("ModelOutputInvalid: ")
    assert broken.details["attempts"] == "2"
    assert "weather" in broken.details["raw"]  # the offending answer, for the dead letter
    assert "schema violation" in broken.details["reason"]
    # the batch call was every item's first attempt; only the broken one is retried
    assert analyzer.calls == [["a", "BREAK me", "b"], ["BREAK me"]]


def test_a_batch_call_one_item_spoils_is_redone_item_by_item_within_the_attempts() -> None:
    analyzer, produced = ScriptedAnalyzer(raises=True), Produced()
    target = batcher(analyzer, produced, max_items=32)
    for offset, text in enumerate(["a", "BREAK me"]):
        add(target, text, offset)
    target.flush()
    good, broken = produced.answers()
    assert good == GOOD
    assert isinstance(broken, AnalysisFailed)
    assert (broken.details["attempts"], broken.details["raw"]) == ("2", "gibberish")
    assert analyzer.calls == [["a", "BREAK me"], ["a"], ["BREAK me"]]


def test_a_dropped_checkpoint_forgets_what_waits() -> None:
    analyzer, produced = ScriptedAnalyzer(), Produced()
    target = batcher(analyzer, produced, max_items=32)
    add(target, "a", 1)
    target.on_paused()
    target.flush()
    assert (analyzer.calls, produced.records) == ([], [])


def test_answer_headers_round_trip_and_replace_an_earlier_answer() -> None:
    headers = answer_headers(ORIGIN, GOOD)
    assert read_answer(headers) == GOOD
    answer = read_answer(headers)
    assert isinstance(answer, Analysis)
    assert answer.vector == pytest.approx((0.6, 0.8))  # carried for the vector store
    failed = answer_headers(headers, AnalysisFailed("ModelOutputInvalid: no", {"raw": "x"}))
    assert ANALYSIS_HEADER not in dict(failed)
    broken = read_answer(failed)
    assert isinstance(broken, AnalysisFailed)
    assert (broken.error, broken.details) == ("ModelOutputInvalid: no", {"raw": "x"})
    assert read_answer(ORIGIN) is None  # an item as it first arrived
