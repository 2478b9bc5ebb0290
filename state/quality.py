"""What ``fraud-quality`` keeps: per alert id what the verdict join needs, per rule its counts.

Two views over Quix state, one per stateful step (each keyed differently). Both store
small JSON arrays under one key, so one read and one write per event, and epoch
milliseconds for times (Quix stores what orjson writes and hands back exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from quixstreams.state.base import State

Counts = tuple[int, int, int]
"""``(alerts, verdicts, confirmed)``."""


class Alerted(NamedTuple):
    """The facts of an alert the counts need."""

    rule: str
    severity: str
    ts_ms: int


@dataclass(frozen=True)
class AlertCase:
    """What the join keeps of one alert id: the alert's facts once it came, its latest verdict.

    Either may come first: a verdict before its alert waits here for it. While the case
    holds both, its ``verdict`` is the one counted, so a changed verdict replaces it in
    the counts instead of adding to them.
    """

    alert: Alerted | None = None
    verdict: str | None = None
    verdict_ms: int | None = None


class CaseStore:
    """Reads and writes the current alert id's case; build one per message, never cache it.

    Every write passes ``ttl`` (event time): a case is forgotten that long after its
    last change, so an alert no verdict ever comes for, or a verdict whose alert never
    comes, does not stay forever.
    """

    _KEY = "case"

    def __init__(self, state: State[str, Any], ttl: timedelta) -> None:
        self._state, self._ttl = state, ttl

    def load(self) -> AlertCase:
        raw = self._state.get(self._KEY)
        if raw is None:
            return AlertCase()
        alert, verdict, verdict_ms = raw
        return AlertCase(Alerted(*alert) if alert is not None else None, verdict, verdict_ms)

    def save(self, case: AlertCase) -> None:
        # orjson writes tuples as arrays but refuses tuple subclasses such as Alerted
        alert = list(case.alert) if case.alert is not None else None
        self._state.set(self._KEY, [alert, case.verdict, case.verdict_ms], ttl=self._ttl)


@dataclass(frozen=True)
class RuleTally:
    """One rule's counts over the alerts raised from ``start_ms`` to ``end_ms``, per severity."""

    start_ms: int
    end_ms: int
    by_severity: dict[str, Counts]


class TallyStore:
    """The current rule's counts: per window of alert time, cumulative, and what each of its
    alerts has contributed to them so far.

    An alert's contribution (``counted``) makes counting idempotent: a contribution sent
    twice (a redelivery through the internal topic after a crash, under at-least-once)
    finds itself already counted and changes nothing. A window's tally and the alerts'
    contributions change as long as a verdict can still join one of its alerts, at most
    ``window_ttl`` after their last change; then they expire. The cumulative tally never
    does (one per rule).
    """

    _CUMULATIVE = "cumulative"

    def __init__(self, state: State[str, Any], window_ttl: timedelta) -> None:
        self._state, self._window_ttl = state, window_ttl

    def counted(self, alert_id: str) -> str | None:
        """What ``alert_id`` contributes so far (its verdict or ``unjudged``); None: nothing."""
        counted: str | None = self._state.get(f"alert:{alert_id}")
        return counted

    def save_counted(self, alert_id: str, contribution: str) -> None:
        self._state.set(f"alert:{alert_id}", contribution, ttl=self._window_ttl)

    def window(self, start_ms: int) -> RuleTally | None:
        return self._load(f"window:{start_ms}")

    def save_window(self, tally: RuleTally) -> None:
        self._save(f"window:{tally.start_ms}", tally, self._window_ttl)

    def cumulative(self) -> RuleTally | None:
        return self._load(self._CUMULATIVE)

    def save_cumulative(self, tally: RuleTally) -> None:
        self._save(self._CUMULATIVE, tally, None)

    def _load(self, key: str) -> RuleTally | None:
        raw = self._state.get(key)
        if raw is None:
            return None
        start_ms, end_ms, by_severity = raw
        counts = {severity: (a, v, c) for severity, (a, v, c) in by_severity.items()}
        return RuleTally(start_ms, end_ms, counts)

    def _save(self, key: str, tally: RuleTally, ttl: timedelta | None) -> None:
        self._state.set(key, [tally.start_ms, tally.end_ms, tally.by_severity], ttl=ttl)
