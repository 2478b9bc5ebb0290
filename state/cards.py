"""A typed view over one card's Quix state: where it was seen, and which transactions it has had.

Values are stored as plain JSON (timestamps as ISO strings) because Quix serialises
state with orjson and hands back exactly what it stored.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quixstreams.state.base import State


@dataclass(frozen=True)
class Sighting:
    """Evidence of where the card physically was: one card-present transaction."""

    txn_id: str
    ts: datetime
    lat: float
    lon: float
    country: str
    place_name: str
    """City (or merchant when no city is known), only for humans reading alerts."""

    @property
    def order_key(self) -> tuple[datetime, str]:
        """Event-time order; the txn id breaks ties so every replay sorts alike."""
        return self.ts, self.txn_id

    def to_json(self) -> list[Any]:
        """A compact row: this is read and written for every card-present transaction."""
        return [self.txn_id, self.ts.isoformat(), self.lat, self.lon, self.country, self.place_name]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Sighting:
        txn_id, ts, lat, lon, country, place_name = raw
        return cls(txn_id, datetime.fromisoformat(ts), lat, lon, country, place_name)


class CardHistory:
    """One card's recent sightings and recently seen transaction ids.

    Build one per message; never cache it: Quix binds the state to the current
    message's key and checkpoint transaction. Every write passes ``ttl`` (an
    event-time TTL), so a card that goes quiet for longer than that is forgotten.
    """

    _SIGHTINGS = "sightings"
    _SEEN_PREFIX = "seen:"

    def __init__(self, state: State[str, Any], ttl: timedelta | None) -> None:
        self._state, self._ttl = state, ttl
        # What this message already read: asking again costs no state read or decoding.
        self._seen: dict[str, bool] = {}
        self._sightings: tuple[Sighting, ...] | None = None

    def sightings(self) -> tuple[Sighting, ...]:
        """The kept sightings, oldest first in event time."""
        if self._sightings is None:
            stored = self._state.get(self._SIGHTINGS, [])
            self._sightings = tuple(Sighting.from_json(raw) for raw in stored)
        return self._sightings

    def remember(self, sighting: Sighting, keep: int) -> None:
        """Add ``sighting`` in event-time order and keep the ``keep`` latest.

        A late sighting older than everything kept is dropped: it has no
        neighbours left to be compared with.
        """
        kept = list(self.sightings())
        insort(kept, sighting, key=lambda s: s.order_key)
        self._sightings = tuple(kept[max(len(kept) - keep, 0) :])
        self._state.set(self._SIGHTINGS, [s.to_json() for s in self._sightings], ttl=self._ttl)

    def has_seen(self, txn_id: str) -> bool:
        """Whether ``txn_id`` was already processed (a duplicate or a replay)."""
        if txn_id not in self._seen:
            self._seen[txn_id] = self._state.exists(self._SEEN_PREFIX + txn_id)
        return self._seen[txn_id]

    def mark_seen(self, txn_id: str) -> None:
        """Remember ``txn_id`` until the TTL: one small key each, an O(1) check per message."""
        self._state.set(self._SEEN_PREFIX + txn_id, 1, ttl=self._ttl)
        self._seen[txn_id] = True


class VelocityLedger:
    """One card's recent transactions in event time, and the end of its last alerted burst.

    Both live under one key, read and written once per new transaction: the velocity
    rule needs the whole recent list anyway, and one write is cheaper than two.
    Entries are ``(ts_ms, txn_id)`` pairs kept in event-time order.
    """

    _KEY = "velocity"

    def __init__(self, state: State[str, Any], ttl: timedelta | None) -> None:
        self._state, self._ttl = state, ttl

    def load(self) -> tuple[list[tuple[int, str]], int | None]:
        """The recent transactions (oldest first) and when the last alerted burst ended."""
        raw = self._state.get(self._KEY)
        if raw is None:
            return [], None
        recent, alerted_until = raw
        return [(int(ts_ms), str(txn_id)) for ts_ms, txn_id in recent], alerted_until

    def save(self, recent: list[tuple[int, str]], alerted_until: int | None) -> None:
        self._state.set(self._KEY, [[list(r) for r in recent], alerted_until], ttl=self._ttl)
