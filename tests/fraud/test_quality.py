"""Rule quality counted by hand: the verdict join and the tallies, with dict-backed state."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.common.epoch import duration_ms
from pipelines.common.events import FraudAlert, FraudQuality, FraudVerdict
from pipelines.fraud.quality import Unmatched, VerdictJoin, tally
from state.quality import CaseStore, TallyStore
from tests.dict_state import DictState
from tests.fraud.verdicts import alert, verdict

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TTL = timedelta(days=180)


class Quality:
    """Both steps as the pipeline runs them: every alert id and every rule its own state."""

    def __init__(self, ttl: timedelta = TTL, window: timedelta = DAY) -> None:
        self.join = VerdictJoin(ttl_ms=duration_ms(ttl), window_ms=duration_ms(window))
        self.ttl, self.window_ttl = ttl, ttl + window
        self.cases: defaultdict[str, DictState] = defaultdict(DictState)
        self.rules: defaultdict[str, DictState] = defaultdict(DictState)
        self.records: list[FraudQuality] = []
        self.unmatched: list[Unmatched] = []

    def send(self, *events: dict[str, Any]) -> None:
        for raw in events:
            event: FraudAlert | FraudVerdict = (
                FraudVerdict.model_validate(raw)
                if "verdict" in raw
                else FraudAlert.model_validate(raw)
            )
            judged = self.join.judge(event, CaseStore(self.cases[event.alert_id], self.ttl))
            if judged.unmatched is not None:
                self.unmatched.append(judged.unmatched)
            if (contribution := judged.contribution) is not None:
                tallies = TallyStore(self.rules[contribution.rule], self.window_ttl)
                self.records += tally(contribution, tallies)

    def latest(self, rule: str, scope: str = "cumulative", start: datetime | None = None) -> Any:
        """The wire form of the last record of ``rule`` in ``scope`` (and window ``start``)."""
        found = [
            r for r in self.records
            if r.rule == rule and r.scope == scope and start in (None, r.window_start)
        ]  # fmt: skip
        return found[-1].to_json_dict()


def counts_of(record: dict[str, Any]) -> tuple[int, int, int, float | None]:
    return record["alerts"], record["verdicts"], record["confirmed"], record["precision"]


def test_precision_per_rule_and_severity_equals_a_hand_count() -> None:
    quality = Quality()
    quality.send(
        alert("v1", "velocity", "medium", T0),
        alert("v2", "velocity", "medium", T0 + timedelta(hours=1)),
        alert("v3", "velocity", "high", T0 + timedelta(hours=2)),
        alert("t1", "impossible_travel", "high", T0),
        verdict("v1", "fraud", T0 + timedelta(days=3)),
        verdict("v2", "legitimate", T0 + timedelta(days=4)),
        verdict("t1", "fraud", T0 + timedelta(days=40)),
    )

    velocity = quality.latest("velocity")
    assert counts_of(velocity) == (3, 2, 1, 1 / 2)
    assert counts_of(velocity["by_severity"]["medium"]) == (2, 2, 1, 1 / 2)
    assert counts_of(velocity["by_severity"]["high"]) == (1, 0, 0, None)
    assert counts_of(quality.latest("impossible_travel")) == (1, 1, 1, 1.0)
    assert quality.unmatched == []


def test_an_alert_without_verdicts_has_a_null_precision_on_the_wire() -> None:
    quality = Quality()
    quality.send(alert("v1", "velocity", "low", T0))

    record = quality.latest("velocity", scope="window")
    assert record["precision"] is None
    assert record["by_severity"] == {
        "low": {"alerts": 1, "verdicts": 0, "confirmed": 0, "precision": None}
    }
    assert (record["window_start"], record["window_end"]) == (
        "2026-09-01T00:00:00Z",
        "2026-09-02T00:00:00Z",
    )


def test_a_verdict_counts_in_the_window_of_its_alert_and_the_cumulative_spans_both() -> None:
    quality = Quality()
    quality.send(
        alert("v1", "velocity", "medium", T0),
        alert("v2", "velocity", "medium", T0 + DAY),
        verdict("v1", "fraud", T0 + timedelta(days=21)),
    )

    first_day = quality.latest("velocity", scope="window", start=T0.replace(hour=0))
    assert counts_of(first_day) == (1, 1, 1, 1.0)
    assert quality.records[-2].window_start == T0.replace(hour=0)  # re-published on the verdict
    cumulative = quality.latest("velocity")
    assert counts_of(cumulative) == (2, 1, 1, 1.0)
    assert (cumulative["window_start"], cumulative["window_end"]) == (
        "2026-09-01T00:00:00Z",
        "2026-09-03T00:00:00Z",
    )


def test_a_changed_verdict_counts_once_with_its_latest_value() -> None:
    quality = Quality()
    quality.send(
        alert("v1", "velocity", "medium", T0),
        verdict("v1", "fraud", T0 + timedelta(days=1)),
        verdict("v1", "legitimate", T0 + timedelta(days=2)),  # the analyst changed their mind
    )
    assert counts_of(quality.latest("velocity")) == (1, 1, 0, 0.0)

    quality.send(verdict("v1", "fraud", T0 + timedelta(days=60)))  # a chargeback
    assert counts_of(quality.latest("velocity")) == (1, 1, 1, 1.0)


def test_an_older_verdict_delivered_late_and_a_repeated_one_change_nothing() -> None:
    quality = Quality()
    quality.send(
        alert("v1", "velocity", "medium", T0),
        verdict("v1", "fraud", T0 + timedelta(days=2)),
    )
    published = len(quality.records)

    quality.send(
        verdict("v1", "legitimate", T0 + timedelta(days=1)),  # older than the one counted
        verdict("v1", "fraud", T0 + timedelta(days=3)),  # the same verdict again
        alert("v1", "velocity", "medium", T0),  # the alert redelivered
    )
    assert len(quality.records) == published
    assert counts_of(quality.latest("velocity")) == (1, 1, 1, 1.0)


def test_a_verdict_before_its_alert_counts_once_the_alert_comes() -> None:
    quality = Quality()
    quality.send(verdict("v1", "fraud", T0 + timedelta(days=1)))
    assert quality.records == []
    assert quality.unmatched == ["before_alert"]

    quality.send(alert("v1", "velocity", "high", T0))
    assert counts_of(quality.latest("velocity")) == (1, 1, 1, 1.0)


def test_a_verdict_past_the_ttl_is_not_counted_and_breaks_nothing() -> None:
    quality = Quality(ttl=timedelta(days=30))
    quality.send(
        alert("v1", "velocity", "medium", T0),
        alert("v2", "velocity", "medium", T0),
        verdict("v1", "fraud", T0 + timedelta(days=31)),  # too late
        verdict("v2", "fraud", T0 + timedelta(days=30)),  # just in time
        verdict("v3", "fraud", T0 + timedelta(days=31)),  # an alert never seen (or forgotten)
    )

    assert counts_of(quality.latest("velocity")) == (2, 1, 1, 1.0)
    assert quality.unmatched == ["past_ttl", "before_alert"]


def test_a_verdict_that_waited_longer_than_the_ttl_for_its_alert_is_dropped() -> None:
    quality = Quality(ttl=timedelta(days=30))
    quality.send(
        verdict("v1", "fraud", T0 + timedelta(days=45)),
        alert("v1", "velocity", "medium", T0),
    )
    assert counts_of(quality.latest("velocity")) == (1, 0, 0, None)


def test_every_write_is_kept_for_the_ttl_except_the_cumulative_counts() -> None:
    quality = Quality()
    quality.send(alert("v1", "velocity", "medium", T0), verdict("v1", "fraud", T0 + DAY))

    assert {ttl for _, ttl in quality.cases["v1"].writes} == {TTL}
    assert {(key, ttl) for key, ttl in quality.rules["velocity"].writes} == {
        ("alert:v1", TTL + DAY),
        (f"window:{int(T0.replace(hour=0).timestamp() * 1000)}", TTL + DAY),
        ("cumulative", None),
    }


def test_a_contribution_delivered_twice_is_counted_once() -> None:
    quality = Quality()
    quality.send(alert("v1", "velocity", "medium", T0))
    contribution = quality.join.judge(
        FraudVerdict.model_validate(verdict("v1", "fraud", T0 + DAY)),
        CaseStore(quality.cases["v1"], TTL),
    ).contribution
    assert contribution is not None

    tallies = TallyStore(quality.rules["velocity"], TTL + DAY)
    first = tally(contribution, tallies)
    assert tally(contribution, tallies) == []  # redelivered through the internal topic
    assert counts_of(first[-1].to_json_dict()) == (1, 1, 1, 1.0)


def test_a_join_without_a_window_is_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        VerdictJoin(ttl_ms=1, window_ms=0)
