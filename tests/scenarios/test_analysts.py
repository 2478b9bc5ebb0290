"""The demo's simulated analysts: verdicts by the generator's truth, some much later than others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.events import FraudQuality, FraudVerdict
from pipelines.demo import Schedule
from pipelines.fraud.generator import generate
from pipelines.scenarios.analysts import (
    QUICK_S,
    SLOW_S,
    Analysts,
    GroundTruth,
    delay_s,
    quality_lines,
)
from pipelines.scenarios.base import Send
from pipelines.scenarios.fraud import FraudScenario

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
TRUTH = GroundTruth(frozenset({"t-cloned", "t-burst"}))


def alert(alert_id: str, rule: str, *txn_ids: str) -> dict[str, Any]:
    return {"alert_id": alert_id, "rule": rule, "card_id": f"card-{alert_id}",
            "txn_ids": list(txn_ids), "ts": NOW.isoformat(), "severity": "high",
            "reasons": ["fired"]}  # fmt: skip


def test_an_alert_on_a_fraudulent_purchase_is_confirmed_and_one_on_genuine_ones_is_not() -> None:
    analysts = Analysts(TRUTH)
    fraud = analysts.judge(alert("a1", "impossible_travel", "t-home", "t-cloned"), NOW)
    genuine = analysts.judge(alert("a2", "velocity", "t-home", "t-lunch"), NOW)
    assert fraud is not None
    assert genuine is not None
    assert (fraud.verdict.verdict, genuine.verdict.verdict) == ("fraud", "legitimate")
    assert fraud.verdict.ts == NOW + timedelta(seconds=fraud.delay_s)
    assert fraud.verdict.analyst
    assert fraud.verdict.note


def test_each_alert_is_judged_once_and_counted_by_hand_per_rule() -> None:
    analysts = Analysts(TRUTH)
    assert analysts.judge(alert("a1", "velocity", "t-burst"), NOW) is not None
    assert analysts.judge(alert("a1", "velocity", "t-burst"), NOW) is None  # redelivered
    analysts.judge(alert("a2", "velocity", "t-other"), NOW)
    analysts.judge(alert("a3", "impossible_travel", "t-cloned"), NOW)
    assert analysts.counts() == {"impossible_travel": (1, 1), "velocity": (2, 1)}


def test_most_verdicts_come_in_seconds_and_some_much_later_always_the_same() -> None:
    delays = [delay_s(f"alert-{i}") for i in range(200)]
    slow = [d for d in delays if d >= SLOW_S[0]]
    assert all(QUICK_S[0] <= d <= QUICK_S[1] or SLOW_S[0] <= d <= SLOW_S[1] for d in delays)
    assert 30 <= len(slow) <= 70  # about a quarter
    assert delays == [delay_s(f"alert-{i}") for i in range(200)]
    assert Analysts(TRUTH, pace=0.1).judge(alert("x", "velocity"), NOW).delay_s == round(  # type: ignore[union-attr]
        delay_s("x") * 0.1, 2
    )


def test_the_generators_clones_and_bursts_are_the_fraudulent_purchases() -> None:
    stream = generate(n_cards=30, days=1, seed=1)
    truth = GroundTruth.of(stream)
    bursts = [b for card in stream.expected_velocity.values() for b in card]
    assert stream.cloned_txn_ids
    assert bursts
    assert {truth.verdict([txn]) for txn in stream.cloned_txn_ids} == {"fraud"}
    assert {truth.verdict(burst.txn_ids[-3:]) for burst in bursts} == {"fraud"}
    genuine = {t.txn_id for t in stream.transactions} - truth.fraudulent_txn_ids
    assert {truth.verdict([txn]) for txn in genuine} == {"legitimate"}


def quality(rule: str, verdicts: int, confirmed: int, alerts: int) -> dict[str, Any]:
    return FraudQuality(rule=rule, window_start=NOW, window_end=NOW, scope="cumulative",
                        alerts=alerts, verdicts=verdicts, confirmed=confirmed,
                        precision=confirmed / verdicts).to_json_dict()  # fmt: skip


def test_the_summary_puts_fraud_qualitys_precision_beside_the_hand_count_and_the_truth() -> None:
    analysts = Analysts(TRUTH)
    alerts = [alert("a1", "velocity", "t-burst"), alert("a2", "velocity", "t-other")]
    for a in alerts:
        analysts.judge(a, NOW)
    window = {**quality("velocity", 1, 1, 1), "scope": "window"}
    lines = quality_lines(analysts, [quality("velocity", 1, 1, 2), window,
                                     quality("velocity", 2, 1, 2)], alerts)  # fmt: skip
    assert lines[0].startswith("analysts: 2 verdicts (1 fraud, 1 legitimate), ")
    assert lines[1] == (
        "  velocity: fraud-quality precision 0.50 (1 confirmed of 2 judged, 2 alerts); "
        "by hand 0.50 (1/2); ground truth 0.50: agree"
    )
    stale = quality_lines(analysts, [quality("velocity", 1, 1, 2)], alerts)
    assert stale[1].endswith("ground truth 0.50: DIFFER")
    assert "no fraud-quality record yet" in quality_lines(analysts, [], alerts)[1]


def test_the_fraud_scenario_answers_each_alert_with_a_timed_verdict_and_waits_for_its_count() -> (
    None
):
    demo = FraudScenario(generate(n_cards=2, days=1, seed=1), clock=lambda: NOW)
    assert "fraud-quality" in demo.pipelines
    sends = demo.react("fraud-alerts", alert("a1", "velocity", "t-x"), now_s=10.0)
    assert demo.react("fraud-alerts", alert("a1", "velocity", "t-x"), now_s=11.0) == []
    assert demo.react("fraud-alerts-triaged", alert("a2", "velocity"), now_s=11.0) == []
    [send] = sends
    verdict = FraudVerdict.model_validate(send.value)
    assert (send.topic, send.key, verdict.verdict) == ("fraud-verdicts", "a1", "legitimate")
    assert send.at_s == 10.0 + delay_s("a1")
    assert demo.watch["fraud-verdicts"](send.value).startswith(
        f"VERDICT {verdict.analyst} on card-a1: legitimate ("
    )
    assert demo.waiting(12.0) == "fraud-quality has counted 0 of 1 verdicts"
    record = {**quality("velocity", 1, 0, 1), "precision": 0.0}
    assert demo.watch["fraud-quality"](record) == (
        "QUALITY velocity: precision 0.00 (0 confirmed of 1 judged, 1 alerts)"
    )
    assert demo.react("fraud-quality", record, now_s=20.0) == []
    assert demo.waiting(20.0) is None


def test_the_schedule_sends_planned_and_reactive_events_in_time_order() -> None:
    schedule = Schedule([Send("t", "a", {}, 1.0), Send("t", "c", {}, 3.0)])
    assert schedule.add([Send("t", "b", {}, 2.0), Send("t", "b2", {}, 2.0)]) == 2
    assert [s.key for s in schedule.due(2.0)] == ["a", "b", "b2"]
    assert len(schedule) == 1
    assert [s.key for s in schedule.due(10.0)] == ["c"]
    assert not schedule
