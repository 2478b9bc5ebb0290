"""The demo's fraud analysts: a verdict on every alert they read, judged by the generator's truth.

The generator knows which purchases were fraud: a cloned card's uses far from home and
each velocity burst (card testing). An analyst who looks into an alert finds out whether
its transactions include one of them: ``fraud`` if so, ``legitimate`` if not. So the
analysts' precision is the ground-truth precision the demo prints, and ``fraud-quality``,
which counts their verdicts, must agree with both.

Analysts take their time, some much longer than others: the delay of each verdict is a
stable function of the alert id. Pure: no broker and no clock (``now`` is passed in).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipelines.common.events import FraudVerdict, VerdictValue
from pipelines.fraud.generator import GeneratedStream

ANALYSTS = ("ana", "ben", "chloe")
QUICK_S = (2.0, 8.0)
"""Most verdicts come this many seconds (wall clock) after the analyst read the alert."""
SLOW_S = (15.0, 30.0)
SLOW_PERCENT = 25
"""This share of the alerts waits longer: the analyst called the customer first."""


def _fraction(text: str) -> float:
    """A stable number in [0, 1) for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") / 2**32


def delay_s(alert_id: str) -> float:
    """How long after reading alert ``alert_id`` its verdict comes (stable per id)."""
    slow = _fraction(f"slow:{alert_id}") * 100 < SLOW_PERCENT
    low, high = SLOW_S if slow else QUICK_S
    return round(low + (high - low) * _fraction(f"delay:{alert_id}"), 1)


@dataclass(frozen=True)
class GroundTruth:
    """The ids of the transactions that were fraud."""

    fraudulent_txn_ids: frozenset[str]

    @classmethod
    def of(cls, stream: GeneratedStream) -> GroundTruth:
        bursts = {
            t for bursts in stream.expected_velocity.values() for b in bursts for t in b.txn_ids
        }
        return cls(frozenset(stream.cloned_txn_ids | bursts))

    def verdict(self, txn_ids: Iterable[str]) -> VerdictValue:
        return "fraud" if self.fraudulent_txn_ids.intersection(txn_ids) else "legitimate"


@dataclass(frozen=True)
class Judgement:
    """An analyst's verdict on one alert, and when (seconds after the alert was read) it is sent."""

    rule: str
    delay_s: float
    verdict: FraudVerdict


@dataclass
class Analysts:
    """The team: reads ``fraud-alerts`` records, judges each alert id once.

    ``pace`` scales every delay (a test's analysts are quicker than the demo's).
    """

    truth: GroundTruth
    pace: float = 1.0
    judged: dict[str, Judgement] = field(default_factory=dict)

    def judge(self, alert: Mapping[str, Any], now: datetime) -> Judgement | None:
        """The verdict on ``alert``, read at ``now``; None if it was judged already."""
        alert_id = str(alert["alert_id"])
        if alert_id in self.judged:
            return None
        verdict = self.truth.verdict(alert.get("txn_ids", []))
        wait = round(delay_s(alert_id) * self.pace, 2)
        analyst = ANALYSTS[int(_fraction(f"analyst:{alert_id}") * len(ANALYSTS))]
        note = (
            "customer confirms the purchases"
            if verdict == "legitimate"
            else "customer did not make these purchases; card blocked"
        )
        judgement = Judgement(
            rule=str(alert["rule"]),
            delay_s=wait,
            verdict=FraudVerdict(
                alert_id=alert_id, verdict=verdict, ts=now + timedelta(seconds=wait),
                analyst=analyst, note=note,
            ),
        )  # fmt: skip
        self.judged[alert_id] = judgement
        return judgement

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per rule, by hand: (verdicts, confirmed as fraud)."""
        verdicts = Counter(j.rule for j in self.judged.values())
        confirmed = Counter(j.rule for j in self.judged.values() if j.verdict.verdict == "fraud")
        return {rule: (n, confirmed[rule]) for rule, n in sorted(verdicts.items())}


def latest_cumulative(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The latest cumulative ``fraud-quality`` record of each rule, in the order read.

    One rule is one key and so one partition: a rule's records are read in publishing order.
    """
    return {r["rule"]: r for r in records if r.get("scope") == "cumulative"}


def ground_truth_precision(
    alerts: Iterable[Mapping[str, Any]], truth: GroundTruth
) -> dict[str, float]:
    """Per rule: the share of distinct alerts whose transactions include a fraudulent one."""
    by_id = {a["alert_id"]: a for a in alerts}
    total, true = Counter[str](), Counter[str]()
    for alert in by_id.values():
        total[alert["rule"]] += 1
        true[alert["rule"]] += truth.verdict(alert.get("txn_ids", [])) == "fraud"
    return {rule: true[rule] / n for rule, n in sorted(total.items())}


def quality_lines(
    analysts: Analysts,
    quality: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
) -> list[str]:
    """The summary: what the analysts said, and each rule's precision three ways."""
    judgements = list(analysts.judged.values())
    if not judgements:
        return ["analysts: no alert to judge"]
    fraud = sum(j.verdict.verdict == "fraud" for j in judgements)
    waits = sorted(j.delay_s for j in judgements)
    lines = [
        f"analysts: {len(judgements)} verdicts ({fraud} fraud, {len(judgements) - fraud} "
        f"legitimate), {waits[0]:.0f}-{waits[-1]:.0f} s after they read the alert"
    ]
    reported = latest_cumulative(quality)
    truth = ground_truth_precision(alerts, analysts.truth)
    for rule, (verdicts, confirmed) in analysts.counts().items():
        record = reported.get(rule)
        hand = confirmed / verdicts
        if record is None or record.get("precision") is None:
            said = "no fraud-quality record yet"
        else:
            said = (
                f"fraud-quality precision {record['precision']:.2f} "
                f"({record['confirmed']} confirmed of {record['verdicts']} judged, "
                f"{record['alerts']} alerts)"
            )
        agree = record is not None and _agrees(record, verdicts, confirmed, truth.get(rule))
        lines.append(
            f"  {rule}: {said}; by hand {hand:.2f} ({confirmed}/{verdicts}); "
            f"ground truth {truth.get(rule, hand):.2f}: {'agree' if agree else 'DIFFER'}"
        )
    return lines


def _agrees(record: Mapping[str, Any], verdicts: int, confirmed: int, truth: float | None) -> bool:
    counted = (record.get("verdicts"), record.get("confirmed")) == (verdicts, confirmed)
    precision = record.get("precision")
    return counted and precision is not None and (truth is None or abs(precision - truth) < 1e-9)
