"""Answer KPIs from users' ratings, as pure functions over typed state views.

Two steps, keyed differently, in the shape of ``fraud/quality.py``. ``RatingJoin.join``
(per question id) joins ratings to their answers, in either order, and says what the
answer now contributes to its window: itself, with its latest rating if one came in
time. ``tally`` (per window) counts contributions, each answer once with its latest
rating, and returns the window's new ``answer-kpis`` record.

An answer is counted in the window of its own time (the Kafka timestamp of its
``answers`` record: when the RAG pipeline answered; ``Answer`` has no ``ts``), and so is
its rating, however much later it comes: a window's satisfaction is that of the answers
given in it. So a window's record is published again whenever one of its answers is
rated; for a window start, the latest record is the current one.

Contributions are absolute (the answer's latest rating), not increments, so counting is
idempotent: a contribution delivered twice leaves the counts as one delivery would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pipelines.common.epoch import from_ms, to_ms
from pipelines.common.events import Answer, AnswerKpis, AnswerRating, LowRatedDoc
from state.answers import Answered, QuestionCase, QuestionStore, WindowStore, WindowTally

UNRATED = ""
"""What an answer without a rating contributes besides itself."""


@dataclass(frozen=True)
class Contribution:
    """What one answer contributes to the counts of the window of its time."""

    question_id: str
    window_start_ms: int
    window_end_ms: int
    status: str
    latency_ms: float
    doc_ids: list[str]
    rating: str = UNRATED


@dataclass(frozen=True)
class RatingJoin:
    """The join of ratings to answers by question id, bound to its settings.

    A rating counts if its time is at most ``ttl_ms`` after its answer's: a rule on
    event times, so the outcome never depends on when the store sweeps expired cases.
    The latest rating (by its ``ts``; at a tie the later delivered) is the one counted.
    """

    ttl_ms: int
    window_ms: int
    """At least 1 (``KpiSettings`` sees to it)."""

    def join(
        self, event: Answer | AnswerRating, timestamp_ms: int, cases: QuestionStore
    ) -> Contribution | None:
        """Join ``event`` (an answer stamped ``timestamp_ms``) with its question's case."""
        case = cases.load()
        if isinstance(event, Answer):
            contribution, kept = self._answer(event, timestamp_ms, case)
        else:
            contribution, kept = self._rating(event, case)
        if kept != case:
            cases.save(kept)
        return contribution

    def _answer(
        self, answer: Answer, ts_ms: int, case: QuestionCase
    ) -> tuple[Contribution | None, QuestionCase]:
        """A new answer counts, with the rating that waited for it; a redelivery does not."""
        if case.answer is not None:
            return None, case
        doc_ids = list(dict.fromkeys(c.doc_id for c in answer.citations))
        answered = Answered(ts_ms, answer.status, answer.latency_ms, doc_ids)
        if case.rating_ms is None or not self._in_time(case.rating_ms, answered):
            case = QuestionCase()  # none waited, or one too late for this answer
        case = replace(case, answer=answered)
        return self._contribution(answer.question_id, answered, case.rating), case

    def _rating(
        self, rating: AnswerRating, case: QuestionCase
    ) -> tuple[Contribution | None, QuestionCase]:
        """A rating of a known answer counts; one before its answer waits for it."""
        ts_ms = to_ms(rating.ts)
        if case.rating_ms is not None and ts_ms < case.rating_ms:
            return None, case
        rated = replace(case, rating=rating.rating, rating_ms=ts_ms)
        if case.answer is None:
            return None, rated
        if not self._in_time(ts_ms, case.answer):
            return None, case
        if rating.rating == case.rating:
            return None, rated
        return self._contribution(rating.question_id, case.answer, rating.rating), rated

    def _in_time(self, rating_ms: int, answer: Answered) -> bool:
        return rating_ms - answer.ts_ms <= self.ttl_ms

    def _contribution(self, question_id: str, answer: Answered, rating: str | None) -> Contribution:
        start_ms = answer.ts_ms - answer.ts_ms % self.window_ms
        return Contribution(
            question_id, start_ms, start_ms + self.window_ms, answer.status,
            answer.latency_ms, answer.doc_ids, rating or UNRATED,
        )  # fmt: skip


def tally(contribution: Contribution, windows: WindowStore, top_docs: int) -> AnswerKpis | None:
    """Count ``contribution`` in its window; the window's new record, None if unchanged."""
    previous = windows.counted(contribution.question_id)
    if previous == contribution.rating:
        return None
    window = windows.load() or WindowTally(contribution.window_start_ms, contribution.window_end_ms)
    if previous is None:
        window.status_counts[contribution.status] = (
            window.status_counts.get(contribution.status, 0) + 1
        )
        window.latencies.append(contribution.latency_ms)
    _rate(window, contribution.doc_ids, previous or UNRATED, -1)
    _rate(window, contribution.doc_ids, contribution.rating, +1)
    windows.save_counted(contribution.question_id, contribution.rating)
    windows.save(window)
    return kpis(window, top_docs)


def _rate(window: WindowTally, doc_ids: list[str], rating: str, sign: int) -> None:
    """Add (``sign`` +1) or take back (-1) one answer's ``rating`` in ``window``."""
    if rating == "up":
        window.up += sign
    elif rating == "down":
        window.down += sign
        for doc_id in doc_ids:
            window.down_docs[doc_id] = window.down_docs.get(doc_id, 0) + sign
            if window.down_docs[doc_id] == 0:
                del window.down_docs[doc_id]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``share`` of values at or below it."""
    if not values:
        return None
    ranked = sorted(values)
    return ranked[max(math.ceil(share * len(ranked)), 1) - 1]


def kpis(window: WindowTally, top_docs: int) -> AnswerKpis:
    """The ``answer-kpis`` record of ``window``."""
    rated = window.up + window.down
    worst = sorted(window.down_docs.items(), key=lambda item: (-item[1], item[0]))[:top_docs]
    return AnswerKpis(
        window_start=from_ms(window.start_ms),
        window_end=from_ms(window.end_ms),
        answers=len(window.latencies),
        status_counts=dict(sorted(window.status_counts.items())),
        rated=rated,
        satisfaction=window.up / rated if rated else None,
        latency_p50_ms=percentile(window.latencies, 0.5),
        latency_p95_ms=percentile(window.latencies, 0.95),
        low_rated_docs=[LowRatedDoc(doc_id=doc, down_answers=n) for doc, n in worst],
    )
