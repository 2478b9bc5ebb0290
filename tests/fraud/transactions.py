"""Transactions for tests: a fixed clock, three cities, and a feed of a generated stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import GeneratedStream
from tests.kafkaio import produce
from tests.processes import create_topics

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LONDON = (51.5074, -0.1278, "GB", "London")
PARIS = (48.8566, 2.3522, "FR", "Paris")
NEW_YORK = (40.7128, -74.0060, "US", "New York")


def txn(
    txn_id: str,
    card: str = "card-1",
    at: timedelta = timedelta(0),
    place: tuple[float, float, str, str] = LONDON,
    **extra: Any,
) -> dict[str, Any]:
    """A valid card-present transaction of ``card`` at ``T0 + at`` in ``place``."""
    lat, lon, country, city = place
    return {
        "txn_id": txn_id,
        "card_id": card,
        "ts": (T0 + at).isoformat(),
        "lat": lat,
        "lon": lon,
        "amount": 42.0,
        "currency": "EUR",
        "merchant": f"Shop in {city}",
        "country": country,
        "channel": "card_present",
        "city": city,
        **extra,
    }


def feed(settings: StreamwiseSettings, stream: GeneratedStream, start: int, end: int) -> None:
    """Profiles (valid since before the stream) once, then deliveries ``start:end``."""
    if start == 0:
        create_topics(settings)  # before any reader subscribes, with the partitions asked for
        since = min(t.ts for t in stream.transactions) - timedelta(days=1)
        produce(settings, "customers", [(c.card_id, c) for c in stream.customers],
                timestamp_ms=int(since.timestamp() * 1000))  # fmt: skip
    produce(settings, "transactions", [(t.card_id, t) for t in stream.transactions[start:end]])
