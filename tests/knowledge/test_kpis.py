"""Answer KPIs counted by hand: the rating join and the window tallies, with dict-backed state."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.common.epoch import duration_ms, to_ms
from pipelines.common.events import Answer, AnswerKpis, AnswerRating
from pipelines.knowledge.kpis import RatingJoin, percentile, tally
from state.answers import QuestionStore, WindowStore
from tests.dict_state import DictState
from tests.knowledge.ratings import (
    FIRST_HOUR,
    FIRST_HOUR_KPIS,
    HOUR,
    MINUTE,
    SECOND_HOUR,
    SECOND_HOUR_KPIS,
    answer,
    rating,
    ratings,
)

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
TTL = timedelta(days=30)


class Kpis:
    """Both steps as the pipeline runs them: every question id and every window its own state."""

    def __init__(self, ttl: timedelta = TTL, window: timedelta = HOUR) -> None:
        self.join = RatingJoin(ttl_ms=duration_ms(ttl), window_ms=duration_ms(window))
        self.ttl, self.window_ttl = ttl, ttl + window
        self.questions: defaultdict[str, DictState] = defaultdict(DictState)
        self.windows: defaultdict[int, DictState] = defaultdict(DictState)
        self.records: list[AnswerKpis] = []

    def answered(self, at: datetime, raw: dict[str, Any]) -> None:
        self._send(Answer.model_validate(raw), to_ms(at))

    def rated(self, *raws: dict[str, Any]) -> None:
        for raw in raws:
            event = AnswerRating.model_validate(raw)
            self._send(event, to_ms(event.ts))

    def _send(self, event: Answer | AnswerRating, ts_ms: int) -> None:
        store = QuestionStore(self.questions[event.question_id], self.ttl)
        contribution = self.join.join(event, ts_ms, store)
        if contribution is not None:
            windows = WindowStore(self.windows[contribution.window_start_ms], self.window_ttl)
            record = tally(contribution, windows, top_docs=5)
            if record is not None:
                self.records.append(record)

    def latest(self, start: datetime) -> dict[str, Any]:
        found = [r for r in self.records if r.window_start == start]
        return found[-1].to_json_dict()


def kpis_of(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in record.items() if key not in ("window_start", "window_end")
    }


def test_the_scenario_gives_the_hand_counted_kpis_per_hour() -> None:
    kpis = Kpis()
    for minutes, raw in FIRST_HOUR:
        kpis.answered(T0 + minutes * MINUTE, raw)
    *first_hour, late = ratings(T0)
    kpis.rated(*first_hour)
    kpis.rated(late)  # q5's rating before its answer
    for minutes, raw in SECOND_HOUR:
        kpis.answered(T0 + HOUR + minutes * MINUTE, raw)

    first = kpis.latest(T0)
    assert kpis_of(first) == FIRST_HOUR_KPIS
    assert (first["window_start"], first["window_end"]) == (
        "2026-09-01T10:00:00Z",
        "2026-09-01T11:00:00Z",
    )
    assert kpis_of(kpis.latest(T0 + HOUR)) == SECOND_HOUR_KPIS


def test_an_unrated_window_has_null_satisfaction_on_the_wire() -> None:
    kpis = Kpis()
    kpis.answered(T0, answer("q1", "rejected", 10))

    record = kpis.latest(T0)
    assert record["satisfaction"] is None
    assert (record["answers"], record["rated"], record["low_rated_docs"]) == (1, 0, [])


def test_a_rating_republishes_its_answers_window_and_a_redelivery_nothing() -> None:
    kpis = Kpis()
    kpis.answered(T0, answer("q1", "ok", 10, "refund"))
    kpis.answered(T0, answer("q1", "ok", 10, "refund"))  # delivered twice
    kpis.rated(rating("q1", "down", T0 + timedelta(days=3)))
    kpis.rated(rating("q1", "down", T0 + timedelta(days=3)))

    assert [(r.window_start, r.answers, r.rated) for r in kpis.records] == [
        (T0, 1, 0),
        (T0, 1, 1),
    ]


def test_a_rating_changed_back_takes_its_documents_out_of_low_rated_docs() -> None:
    kpis = Kpis()
    kpis.answered(T0, answer("q1", "ok", 10, "refund"))
    kpis.rated(rating("q1", "down", T0 + MINUTE), rating("q1", "up", T0 + 2 * MINUTE))

    record = kpis.latest(T0)
    assert (record["rated"], record["satisfaction"], record["low_rated_docs"]) == (1, 1.0, [])


def test_an_older_rating_delivered_after_a_newer_one_changes_nothing() -> None:
    kpis = Kpis()
    kpis.answered(T0, answer("q1", "ok", 10))
    kpis.rated(rating("q1", "up", T0 + 2 * MINUTE), rating("q1", "down", T0 + MINUTE))

    assert kpis.latest(T0)["satisfaction"] == 1.0
    assert len(kpis.records) == 2


def test_a_rating_past_the_ttl_is_not_counted() -> None:
    kpis = Kpis(ttl=timedelta(days=1))
    kpis.answered(T0, answer("q1", "ok", 10))
    kpis.rated(rating("q1", "down", T0 + timedelta(days=2)))

    assert kpis.latest(T0)["rated"] == 0
    assert len(kpis.records) == 1


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([], 0.5, None), ([7.0], 0.95, 7.0), ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
     ([float(n) for n in range(1, 21)], 0.95, 19.0)],
)  # fmt: skip
def test_percentiles_are_nearest_rank(
    values: list[float], share: float, expected: float | None
) -> None:
    assert percentile(values, share) == expected
