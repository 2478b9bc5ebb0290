"""Kafka and Quix count time in epoch milliseconds; events carry aware datetimes.

One place for the conversions, so every pipeline rounds the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def duration_ms(duration: timedelta) -> int:
    """A duration in whole milliseconds."""
    return round(duration.total_seconds() * 1000)
