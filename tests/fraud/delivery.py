"""What a delivery guarantee allows of the fraud alerts a run produced."""

from __future__ import annotations

from collections import Counter

from pipelines.common.settings import ProcessingGuarantee
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL
from tests.kafkaio import Record


def assert_delivered(
    records: list[Record], expected: set[str], guarantee: ProcessingGuarantee = "at-least-once"
) -> None:
    """Every expected travel alert and no other; under exactly-once each once (as a
    ``read_committed`` reader sees them), under at-least-once repeats byte for byte."""
    travel = Counter(r.json()["alert_id"] for r in records if r.json()["rule"] == IMPOSSIBLE_TRAVEL)
    assert set(travel) == expected, "every expected alert, nothing else"
    if guarantee == "exactly-once":
        assert max(travel.values(), default=1) == 1, "a read_committed consumer sees each once"
        return
    by_id: dict[str, set[bytes]] = {}
    for record in records:
        by_id.setdefault(record.json()["alert_id"], set()).add(record.value or b"")
    assert all(len(values) == 1 for values in by_id.values()), "a repeated alert is identical"
