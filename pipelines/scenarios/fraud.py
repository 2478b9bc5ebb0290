"""The fraud part of ``streamwise demo``: two days of card activity replayed in fast forward.

Analysts read every alert and give their verdict seconds later (``analysts.py``);
``fraud-quality`` counts the verdicts, and the summary puts its precision beside the
analysts' own count and the generator's ground truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.epoch import to_ms
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import GeneratedStream, generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL, VELOCITY
from pipelines.scenarios.analysts import Analysts, GroundTruth, latest_cumulative, quality_lines
from pipelines.scenarios.base import Render, Send

COUNT_WAIT_S = 30.0
"""After the last verdict is due, wait at most this long for fraud-quality to count it."""


def _render_alert(alert: dict[str, Any]) -> str:
    return f"FRAUD {alert['severity']:<6} {alert['rule']:<17} {alert['card_id']}: " + (
        "; ".join(alert["reasons"])
    )


def _render_triaged(alert: dict[str, Any]) -> str:
    similar = len(alert.get("similar_alert_ids", []))
    return f"TRIAGE {alert['card_id']}: {alert['note']} ({similar} similar earlier)"


def _render_quality(record: dict[str, Any]) -> str | None:
    if record.get("scope") != "cumulative" or record.get("precision") is None:
        return None
    return (
        f"QUALITY {record['rule']}: precision {record['precision']:.2f} "
        f"({record['confirmed']} confirmed of {record['verdicts']} judged, "
        f"{record['alerts']} alerts)"
    )


class FraudScenario:
    title = "Fraud"
    pipelines = ("fraud", "fraud-triage", "fraud-quality")
    pipeline_env: Mapping[str, str] = {}

    def __init__(
        self,
        stream: GeneratedStream,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pace: float = 1.0,
    ) -> None:
        self.stream = stream
        self._clock = clock
        self.analysts = Analysts(GroundTruth.of(stream), pace)
        self._cards: dict[str, str] = {}
        self._last_due_s: float | None = None
        self._quality: list[dict[str, Any]] = []
        self.watch: dict[str, Render] = {
            "fraud-alerts": _render_alert,
            "fraud-alerts-triaged": _render_triaged,
            "fraud-verdicts": self._render_verdict,
            "fraud-quality": _render_quality,
        }

    def _render_verdict(self, verdict: dict[str, Any]) -> str:
        card = self._cards.get(verdict["alert_id"], verdict["alert_id"])
        return f"VERDICT {verdict.get('analyst', '?')} on {card}: {verdict['verdict']}" + (
            f" ({verdict['note']})" if verdict.get("note") else ""
        )

    def react(self, topic: str, record: dict[str, Any], now_s: float) -> list[Send]:
        """An analyst takes each new alert; the verdict follows after their delay."""
        if topic == "fraud-quality":
            self._quality.append(record)
        if topic != "fraud-alerts":
            return []
        judgement = self.analysts.judge(record, self._clock())
        if judgement is None:
            return []
        self._cards[judgement.verdict.alert_id] = str(record["card_id"])
        due = now_s + judgement.delay_s
        self._last_due_s = max(due, self._last_due_s or due)
        verdict = judgement.verdict
        return [Send("fraud-verdicts", verdict.alert_id, verdict.to_json_dict(), due)]

    def tick(self, now_s: float) -> list[Send]:
        return []

    def waiting(self, now_s: float) -> str | None:
        """Until fraud-quality has counted every verdict (bounded after the last is due)."""
        if self._last_due_s is None or now_s > self._last_due_s + COUNT_WAIT_S:
            return None
        judged = len(self.analysts.judged)
        counted = sum(r["verdicts"] for r in latest_cumulative(self._quality).values())
        if counted >= judged:
            return None
        return f"fraud-quality has counted {counted} of {judged} verdicts"

    def events(self, seconds: float) -> Iterator[Send]:
        """Profiles valid since before the history, then every delivery spread over ``seconds``."""
        first = min(t.ts for t in self.stream.transactions)
        since_ms = to_ms(first - timedelta(days=1))
        for customer in self.stream.customers:
            yield Send("customers", customer.card_id, customer.to_json_dict(), 0.0, since_ms)
        step = seconds / max(len(self.stream.transactions), 1)
        for index, txn in enumerate(self.stream.transactions):
            yield Send("transactions", txn.card_id, txn.to_json_dict(), index * step)

    def summary(self, outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
        alerts = outputs.get("fraud-alerts", [])
        travel = {a["alert_id"] for a in alerts if a["rule"] == IMPOSSIBLE_TRAVEL}
        expected = self.stream.expected
        hits = len(travel & expected)
        precision = hits / len(travel) if travel else 1.0
        recall = hits / len(expected) if expected else 1.0
        bursts = sum(len(b) for b in self.stream.expected_velocity.values())
        velocity = {a["alert_id"] for a in alerts if a["rule"] == VELOCITY}
        severities = Counter(a["severity"] for a in alerts)
        return [
            f"{len(self.stream.transactions)} transactions on {len(self.stream.customers)} cards",
            f"impossible travel: {len(travel)} alerts, {len(expected)} expected "
            f"(precision {precision:.2f}, recall {recall:.2f})",
            f"velocity: {len(velocity)} alerts for {bursts} generated bursts",
            "severity: " + ", ".join(f"{k} {v}" for k, v in sorted(severities.items())),
            f"triaged with analyst notes: {len(outputs.get('fraud-alerts-triaged', []))}",
            *quality_lines(self.analysts, outputs.get("fraud-quality", []), alerts),
        ]


def scenario(settings: StreamwiseSettings) -> FraudScenario:
    """Two days of history ending now, on 120 cards."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    return FraudScenario(generate(n_cards=120, days=2, seed=42, start=start))
