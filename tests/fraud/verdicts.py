"""Alerts and verdicts for the quality tests, as their producers send them (JSON objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def alert(alert_id: str, rule: str, severity: str, ts: datetime) -> dict[str, Any]:
    """A valid ``fraud-alerts`` value of card ``card-<alert_id>``."""
    return {
        "alert_id": alert_id, "rule": rule, "card_id": f"card-{alert_id}",
        "txn_ids": [f"{alert_id}-t1"], "ts": ts.isoformat(), "severity": severity,
        "reasons": [f"{rule} fired"],
    }  # fmt: skip


def verdict(alert_id: str, value: str, ts: datetime, **extra: Any) -> dict[str, Any]:
    """A valid ``fraud-verdicts`` value."""
    return {"alert_id": alert_id, "verdict": value, "ts": ts.isoformat(), **extra}
