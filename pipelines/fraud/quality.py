"""Rule quality from analysts' verdicts, as pure functions over typed state views.

Two steps, keyed differently. ``judge`` (per alert id) joins verdicts to their alerts,
in either order, and says what the alert now contributes to its rule's counts: itself,
and its verdict if it has one in time. ``tally`` (per rule) counts contributions, each
alert once with its latest one, and returns the ``fraud-quality`` records it changed.
No broker and no clock: every time is an event's own ``ts``.

An alert is counted in the window of its own time, and so are its verdict and every
change of that verdict, however much later they come: a window's precision is that of
the alerts raised in it. Counted by verdict time instead, a window would mix alerts of
one period with judgements of others, and a changed verdict would have to be taken
back from a window already published. So a window's record is re-published whenever
one of its alerts is judged (weeks later, for a chargeback): for a rule and a window
start, the latest record is the current one.

Contributions are absolute (the alert's latest verdict), not increments, so counting is
idempotent: a contribution delivered twice, or the contributions of one alert replayed
in another order after a crash, leave the counts as one delivery in order would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pipelines.common.epoch import from_ms, to_ms
from pipelines.common.events import FraudAlert, FraudQuality, FraudVerdict, QualityCounts
from state.quality import AlertCase, Alerted, CaseStore, Counts, RuleTally, TallyStore

FRAUD = "fraud"
UNJUDGED = "unjudged"
"""What an alert without a verdict contributes: itself."""
SEVERITIES = ("low", "medium", "high")
"""The order of a record's per-severity breakdown."""

Unmatched = Literal["before_alert", "past_ttl"]
"""Why a verdict counts nowhere yet: its alert is not known (it may come later, or be
older than the TTL, or never have been raised), or it came longer than the TTL after
its alert."""


@dataclass(frozen=True)
class Contribution:
    """What one alert contributes to its rule's counts, in the window of its time."""

    alert_id: str
    rule: str
    severity: str
    window_start_ms: int
    window_end_ms: int
    verdict: str = UNJUDGED


@dataclass(frozen=True)
class Judged:
    """The outcome of one event: the alert's new contribution (None: unchanged) and why a
    verdict counts nowhere yet, if so."""

    contribution: Contribution | None
    unmatched: Unmatched | None = None


@dataclass(frozen=True)
class VerdictJoin:
    """The join of verdicts to alerts by alert id, bound to its settings.

    A verdict counts if its time is at most ``ttl_ms`` after its alert's. The rule is on
    event times, so the outcome never depends on when the state store sweeps expired
    cases. An alert's latest verdict (by its ``ts``; at a tie, the later delivered) is
    the one counted; an older one delivered after it changes nothing.
    """

    ttl_ms: int
    window_ms: int

    def __post_init__(self) -> None:
        if self.ttl_ms < 1 or self.window_ms < 1:
            msg = f"ttl_ms and window_ms must be positive: {self.ttl_ms}, {self.window_ms}"
            raise ValueError(msg)

    def judge(self, event: FraudAlert | FraudVerdict, cases: CaseStore) -> Judged:
        """Join ``event`` with its alert id's case: the alert's new contribution, if any."""
        case = cases.load()
        if isinstance(event, FraudAlert):
            judged, kept = self._alert(event, case)
        else:
            judged, kept = self._verdict(event, case)
        if kept != case:
            cases.save(kept)
        return judged

    def _alert(self, alert: FraudAlert, case: AlertCase) -> tuple[Judged, AlertCase]:
        """A new alert counts, with the verdict that waited for it; a redelivery does not."""
        if case.alert is not None:
            return Judged(None), case
        alerted = Alerted(alert.rule, alert.severity, to_ms(alert.ts))
        if case.verdict_ms is None or not self._in_time(case.verdict_ms, alerted):
            case = AlertCase()  # none waited, or one too late for this alert: not kept
        case = replace(case, alert=alerted)
        return Judged(self._contribution(alert.alert_id, alerted, case.verdict)), case

    def _verdict(self, verdict: FraudVerdict, case: AlertCase) -> tuple[Judged, AlertCase]:
        """A verdict on a known alert counts; one before its alert waits for it."""
        ts_ms = to_ms(verdict.ts)
        if case.verdict_ms is not None and ts_ms < case.verdict_ms:
            return Judged(None), case
        judged = replace(case, verdict=verdict.verdict, verdict_ms=ts_ms)
        if case.alert is None:
            return Judged(None, "before_alert"), judged
        if not self._in_time(ts_ms, case.alert):
            return Judged(None, "past_ttl"), case
        if verdict.verdict == case.verdict:
            return Judged(None), judged
        return Judged(self._contribution(verdict.alert_id, case.alert, verdict.verdict)), judged

    def _in_time(self, verdict_ms: int, alert: Alerted) -> bool:
        return verdict_ms - alert.ts_ms <= self.ttl_ms

    def _contribution(self, alert_id: str, alert: Alerted, verdict: str | None) -> Contribution:
        start_ms = alert.ts_ms - alert.ts_ms % self.window_ms
        return Contribution(
            alert_id, alert.rule, alert.severity, start_ms, start_ms + self.window_ms,
            verdict or UNJUDGED,
        )  # fmt: skip


def tally(contribution: Contribution, tallies: TallyStore) -> list[FraudQuality]:
    """Count ``contribution`` in its rule's window and cumulative tallies; return both records.

    Nothing when the alert already contributes exactly that (a redelivery).
    """
    previous = tallies.counted(contribution.alert_id)
    added = difference(previous, contribution.verdict)
    if added is None:
        return []
    tallies.save_counted(contribution.alert_id, contribution.verdict)
    window = count(tallies.window(contribution.window_start_ms), contribution, added)
    cumulative = count(tallies.cumulative(), contribution, added)
    tallies.save_window(window)
    tallies.save_cumulative(cumulative)
    rule = contribution.rule
    return [quality(rule, window), quality(rule, cumulative, cumulative=True)]


def difference(previous: str | None, current: str) -> Counts | None:
    """What an alert contributing ``current`` adds to the counts, after ``previous``
    (None: not counted yet); None when the two are the same."""
    if previous == current:
        return None
    judged_before = previous is not None and previous != UNJUDGED
    return (
        int(previous is None),
        int(current != UNJUDGED) - int(judged_before),
        int(current == FRAUD) - int(previous == FRAUD),
    )


def count(tally: RuleTally | None, contribution: Contribution, added: Counts) -> RuleTally:
    """``tally`` with ``added`` counted for the contribution's severity, its span stretched
    to cover the contribution's window.

    The same for a window's tally (the span is that window) and the cumulative one
    (from the first window counted to the last).
    """
    start_ms, end_ms = contribution.window_start_ms, contribution.window_end_ms
    by_severity: dict[str, Counts] = {}
    if tally is not None:
        start_ms, end_ms = min(start_ms, tally.start_ms), max(end_ms, tally.end_ms)
        by_severity = dict(tally.by_severity)
    old = by_severity.get(contribution.severity, (0, 0, 0))
    by_severity[contribution.severity] = (
        old[0] + added[0],
        old[1] + added[1],
        old[2] + added[2],
    )
    return RuleTally(start_ms, end_ms, by_severity)


def counts(alerts: int, verdicts: int, confirmed: int) -> QualityCounts:
    """The counts with their precision: confirmed / verdicts, null when none was judged."""
    precision = confirmed / verdicts if verdicts else None
    return QualityCounts(alerts=alerts, verdicts=verdicts, confirmed=confirmed, precision=precision)


def quality(rule: str, tally: RuleTally, *, cumulative: bool = False) -> FraudQuality:
    """The ``fraud-quality`` record of ``rule``'s tally: totals, then per severity."""
    columns = zip(*tally.by_severity.values(), strict=True)
    alerts, verdicts, confirmed = (sum(column) for column in columns)
    return FraudQuality.model_validate(
        {
            **counts(alerts, verdicts, confirmed).model_dump(),
            "rule": rule,
            "window_start": from_ms(tally.start_ms),
            "window_end": from_ms(tally.end_ms),
            "scope": "cumulative" if cumulative else "window",
            "by_severity": {
                s: counts(*tally.by_severity[s]) for s in SEVERITIES if s in tally.by_severity
            },
        }
    )
