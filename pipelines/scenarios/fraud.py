"""The fraud part of ``streamwise demo``: two days of card activity replayed in fast forward."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.epoch import to_ms
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import GeneratedStream, generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL, VELOCITY
from pipelines.scenarios.base import Render, Send


def _render_alert(alert: dict[str, Any]) -> str:
    return f"FRAUD {alert['severity']:<6} {alert['rule']:<17} {alert['card_id']}: " + (
        "; ".join(alert["reasons"])
    )


def _render_triaged(alert: dict[str, Any]) -> str:
    similar = len(alert.get("similar_alert_ids", []))
    return f"TRIAGE {alert['card_id']}: {alert['note']} ({similar} similar earlier)"


class FraudScenario:
    title = "Fraud"
    pipelines = ("fraud", "fraud-triage")

    def __init__(self, stream: GeneratedStream) -> None:
        self._stream = stream
        self.watch: dict[str, Render] = {
            "fraud-alerts": _render_alert,
            "fraud-alerts-triaged": _render_triaged,
        }

    def events(self, seconds: float) -> Iterator[Send]:
        """Profiles valid since before the history, then every delivery spread over ``seconds``."""
        first = min(t.ts for t in self._stream.transactions)
        since_ms = to_ms(first - timedelta(days=1))
        for customer in self._stream.customers:
            yield Send("customers", customer.card_id, customer.to_json_dict(), 0.0, since_ms)
        step = seconds / max(len(self._stream.transactions), 1)
        for index, txn in enumerate(self._stream.transactions):
            yield Send("transactions", txn.card_id, txn.to_json_dict(), index * step)

    def summary(self, outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
        alerts = outputs.get("fraud-alerts", [])
        travel = {a["alert_id"] for a in alerts if a["rule"] == IMPOSSIBLE_TRAVEL}
        expected = self._stream.expected
        hits = len(travel & expected)
        precision = hits / len(travel) if travel else 1.0
        recall = hits / len(expected) if expected else 1.0
        bursts = sum(len(b) for b in self._stream.expected_velocity.values())
        velocity = {a["alert_id"] for a in alerts if a["rule"] == VELOCITY}
        severities = Counter(a["severity"] for a in alerts)
        return [
            f"{len(self._stream.transactions)} transactions on {len(self._stream.customers)} cards",
            f"impossible travel: {len(travel)} alerts, {len(expected)} expected "
            f"(precision {precision:.2f}, recall {recall:.2f})",
            f"velocity: {len(velocity)} alerts for {bursts} generated bursts",
            "severity: " + ", ".join(f"{k} {v}" for k, v in sorted(severities.items())),
            f"triaged with analyst notes: {len(outputs.get('fraud-alerts-triaged', []))}",
        ]


def scenario(settings: StreamwiseSettings) -> FraudScenario:
    """Two days of history ending now, on 120 cards."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    return FraudScenario(generate(n_cards=120, days=2, seed=42, start=start))
