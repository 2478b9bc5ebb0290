"""What ``answer-kpis`` keeps: per question id what the rating join needs, per window its counts.

Two views over Quix state, one per stateful step (each keyed differently), in the shape
of ``quality.py``: small JSON arrays under one key, epoch milliseconds for times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from quixstreams.state.base import State


class Answered(NamedTuple):
    """The facts of an answer the KPIs need."""

    ts_ms: int
    status: str
    latency_ms: float
    doc_ids: list[str]


@dataclass(frozen=True)
class QuestionCase:
    """What the join keeps of one question id: its answer once it came, its latest rating.

    Either may come first: a rating before its answer waits here for it.
    """

    answer: Answered | None = None
    rating: str | None = None
    rating_ms: int | None = None


class QuestionStore:
    """Reads and writes the current question id's case; build one per message.

    Every write passes ``ttl`` (event time): a case is forgotten that long after its
    last change, so an answer never rated does not stay forever.
    """

    _KEY = "case"

    def __init__(self, state: State[str, Any], ttl: timedelta) -> None:
        self._state, self._ttl = state, ttl

    def load(self) -> QuestionCase:
        raw = self._state.get(self._KEY)
        if raw is None:
            return QuestionCase()
        answer, rating, rating_ms = raw
        return QuestionCase(Answered(*answer) if answer is not None else None, rating, rating_ms)

    def save(self, case: QuestionCase) -> None:
        answer = list(case.answer) if case.answer is not None else None  # orjson: no NamedTuple
        self._state.set(self._KEY, [answer, case.rating, case.rating_ms], ttl=self._ttl)


@dataclass
class WindowTally:
    """One window's counts over the answers given from ``start_ms`` to ``end_ms``.

    ``latencies`` holds every answer's latency for exact percentiles: a window holds
    what one RAG deployment answers in ``KNOWLEDGE_KPI_WINDOW`` (thousands an hour at
    most), read and written once per event.
    """

    start_ms: int
    end_ms: int
    status_counts: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    up: int = 0
    down: int = 0
    down_docs: dict[str, int] = field(default_factory=dict)


class WindowStore:
    """The current window's tally, and what each of its answers has contributed so far.

    An answer's counted rating (``""``: counted, unrated) makes counting idempotent: a
    contribution delivered twice changes nothing. Both expire ``ttl`` after their last
    change, when no rating can join the window's answers any more.
    """

    _WINDOW = "window"

    def __init__(self, state: State[str, Any], ttl: timedelta) -> None:
        self._state, self._ttl = state, ttl

    def counted(self, question_id: str) -> str | None:
        """The rating ``question_id`` is counted with (``""``: unrated); None: not counted."""
        counted: str | None = self._state.get(f"q:{question_id}")
        return counted

    def save_counted(self, question_id: str, rating: str) -> None:
        self._state.set(f"q:{question_id}", rating, ttl=self._ttl)

    def load(self) -> WindowTally | None:
        raw = self._state.get(self._WINDOW)
        return WindowTally(*raw) if raw is not None else None

    def save(self, tally: WindowTally) -> None:
        raw = [tally.start_ms, tally.end_ms, tally.status_counts, tally.latencies,
               tally.up, tally.down, tally.down_docs]  # fmt: skip
        self._state.set(self._WINDOW, raw, ttl=self._ttl)
