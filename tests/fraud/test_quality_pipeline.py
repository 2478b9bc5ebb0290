"""fraud-quality end to end on the real broker: verdicts weeks after their alerts, hand counts.

Alerts are stamped 60 days ago and their verdicts weeks later (payload ``ts``); the Kafka
timestamps are those of producing, now: brokers refuse timestamps an hour ahead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.app import PipelineApp, make_app
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.quality_pipeline import build
from pipelines.fraud.settings import QualitySettings
from tests.fraud.verdicts import alert, verdict
from tests.kafkaio import Record, produce, read

DAY = timedelta(days=1)
A = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - 60 * DAY
"""The first day's alerts; the second day's come a day later."""
SETTINGS = QualitySettings(verdict_ttl=timedelta(days=40), quality_window=DAY)

ALERTS = [
    alert("v1", "velocity", "medium", A),
    alert("v1", "velocity", "medium", A),  # delivered twice
    alert("v2", "velocity", "medium", A + timedelta(hours=2)),
    alert("v3", "velocity", "high", A + DAY),
    alert("v4", "velocity", "high", A + DAY),
    alert("v5", "velocity", "medium", A + DAY),
    alert("t1", "impossible_travel", "high", A),
    alert("t2", "impossible_travel", "high", A),
    alert("t3", "impossible_travel", "low", A + DAY),
]
VERDICTS = [
    verdict("v1", "fraud", A + 21 * DAY, analyst="ana"),
    verdict("v2", "legitimate", A + 22 * DAY),
    verdict("v3", "fraud", A + 30 * DAY),
    verdict("v4", "legitimate", A + 11 * DAY),
    verdict("v4", "fraud", A + 32 * DAY, note="chargeback"),  # changed: counts once, as fraud
    verdict("t1", "fraud", A + 28 * DAY),
    verdict("t2", "fraud", A + 50 * DAY),  # past the 40-day TTL: not counted
    verdict("t3", "legitimate", A + 33 * DAY),
    verdict("t4", "fraud", A + 30 * DAY),  # its alert comes in the second run
]
LATE_ALERT = alert("t4", "impossible_travel", "high", A)


def run_quality(settings: StreamwiseSettings) -> PipelineApp:
    papp = make_app("fraud-quality", settings)
    build(papp, SETTINGS)
    papp.app.run(timeout=8)
    return papp


def latest(records: list[Record], rule: str, start: datetime | None = None) -> dict[str, Any]:
    """The last record of ``rule``: cumulative, or of the window starting at ``start``.

    One rule, one key, one partition: the records of a rule are read in publishing order.
    """
    scope, when = ("cumulative", None) if start is None else ("window", start.isoformat())
    found = [
        r.json() for r in records
        if r.key == rule.encode() and r.json()["scope"] == scope
        and when in (None, r.json()["window_start"].replace("Z", "+00:00"))
    ]  # fmt: skip
    assert found, f"no {scope} record of {rule} {start or ''}"
    last: dict[str, Any] = found[-1]
    return last


def counts(record: dict[str, Any]) -> tuple[int, int, int, float | None]:
    return record["alerts"], record["verdicts"], record["confirmed"], record["precision"]


def counted(rule: str, verdicts: int, alerts: int) -> Any:
    """``read(until=...)``: the latest cumulative record of ``rule`` has these counts."""

    def done(records: list[Record]) -> bool:
        mine = [r.json() for r in records if r.key == rule.encode()]
        cumulative = [r for r in mine if r["scope"] == "cumulative"]
        return bool(cumulative) and (cumulative[-1]["verdicts"], cumulative[-1]["alerts"]) == (
            verdicts,
            alerts,
        )

    return done


def test_verdicts_weeks_after_their_alerts_give_the_hand_counted_precision(
    settings: StreamwiseSettings,
) -> None:
    produce(settings, "fraud-alerts", [(a["card_id"], a) for a in ALERTS])
    produce(settings, "fraud-verdicts", [(v["alert_id"], v) for v in VERDICTS])
    first = run_quality(settings)

    records = read(settings, "fraud-quality", until=counted("velocity", 4, 5), idle_s=1)
    # velocity: v1 fraud, v2 legitimate, v3 fraud, v4 fraud (changed), v5 not judged
    velocity = latest(records, "velocity")
    assert counts(velocity) == (5, 4, 3, 3 / 4)
    assert counts(velocity["by_severity"]["medium"]) == (3, 2, 1, 1 / 2)  # v1, v2, v5
    assert counts(velocity["by_severity"]["high"]) == (2, 2, 2, 1.0)  # v3, v4
    day_one = A.replace(hour=0)
    assert counts(latest(records, "velocity", day_one)) == (2, 2, 1, 1 / 2)
    assert counts(latest(records, "velocity", day_one + DAY)) == (3, 2, 2, 1.0)
    # impossible travel so far: t1 fraud, t2 judged too late, t3 legitimate; t4 not alerted
    assert counts(latest(records, "impossible_travel")) == (3, 2, 1, 1 / 2)
    unmatched = first.metrics.registry.get_sample_value
    assert unmatched("streamwise_fraud_verdicts_unmatched_total", {"reason": "before_alert"}) == 1
    precision = first.metrics.registry.get_sample_value(
        "streamwise_fraud_quality_precision", {"rule": "velocity", "severity": "all"}
    )
    assert precision == 3 / 4

    produce(settings, "fraud-alerts", [(LATE_ALERT["card_id"], LATE_ALERT)])
    run_quality(settings)

    records = read(settings, "fraud-quality", until=counted("impossible_travel", 3, 4), idle_s=1)
    travel = latest(records, "impossible_travel")
    assert counts(travel) == (4, 3, 2, 2 / 3)  # t4's verdict, waiting since the first run
    assert counts(travel["by_severity"]["high"]) == (3, 2, 2, 1.0)  # t1, t2, t4
    assert counts(travel["by_severity"]["low"]) == (1, 1, 0, 0.0)  # t3
    assert read(settings, "fraud-quality-dlq", timeout_s=2) == []
