"""One card's fraud state, kept under a single Quix state key.

Everything the rules remember about a card (its latest sightings, its recent
transactions for velocity, the end of its last alerted burst) is one JSON record:
one state read and one write per transaction, and one changelog record per card
per checkpoint. Separate keys per concern, plus a key per transaction id for
duplicates, measured about three quarters of the throughput (bench/fraud).

Times are stored as epoch milliseconds (Quix serialises state with orjson and hands
back exactly what it stored). Records written by earlier versions under the keys
``sightings`` and ``velocity`` are read once and replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from quixstreams.state.base import State


class Sighting(NamedTuple):
    """Evidence of where the card physically was: one card-present transaction.

    A named tuple, not a dataclass: every transaction decodes its card's sightings,
    and tuples build several times faster.
    """

    txn_id: str
    ts_ms: int
    lat: float
    lon: float
    country: str
    place_name: str
    """City (or merchant when no city is known), only for humans reading alerts."""

    @property
    def order_key(self) -> tuple[int, str]:
        """Event-time order; the txn id breaks ties so every replay sorts alike."""
        return self.ts_ms, self.txn_id

    @classmethod
    def from_row(cls, row: list[Any]) -> Sighting:
        if isinstance(row[1], str):
            row = [row[0], _legacy_iso_to_ms(row[1]), *row[2:]]
        return cls._make(row)


def _legacy_iso_to_ms(text: str) -> int:
    """Epoch ms of a sighting time as earlier versions stored it (ISO 8601).

    Rounds like ``pipelines.common.epoch.to_ms``, which ``state`` may not import.
    """
    return round(datetime.fromisoformat(text).timestamp() * 1000)


@dataclass(frozen=True)
class CardRecord:
    """What the fraud rules keep about one card.

    ``sightings``: the latest card-present transactions, oldest first in event time.
    ``recent``: ``(ts_ms, txn_id)`` of the transactions within the velocity horizon,
    in event-time order. ``alerted_until``: when the card's last alerted burst ended.
    Together they name every transaction the rules can still act on, which is what
    makes a redelivery recognisable (see ``has_seen``).
    """

    sightings: tuple[Sighting, ...] = ()
    recent: tuple[tuple[int, str], ...] = ()
    alerted_until: int | None = None

    def has_seen(self, txn_id: str) -> bool:
        """Whether ``txn_id`` was already processed (a duplicate or a replay).

        Exact for every transaction either rule could still act on; an older
        redelivery is too late for velocity and, having no kept neighbours, for
        travel too, so it raises nothing either way.
        """
        return any(seen == txn_id for _, seen in self.recent) or any(
            s.txn_id == txn_id for s in self.sightings
        )


class CardStore:
    """Reads and writes a card's record in the current message's Quix state.

    Build one per message; never cache it: Quix binds the state to the current
    message's key and checkpoint transaction. Every write passes ``ttl`` (an
    event-time TTL), so a card that goes quiet for longer than that is forgotten.
    """

    _KEY = "card"
    _LEGACY_SIGHTINGS, _LEGACY_VELOCITY = "sightings", "velocity"

    def __init__(self, state: State[str, Any], ttl: timedelta | None) -> None:
        self._state, self._ttl = state, ttl

    def load(self) -> CardRecord:
        raw = self._state.get(self._KEY)
        if raw is None:
            raw = self._take_legacy()
        if raw is None:
            return CardRecord()
        sightings, recent, alerted_until = raw
        return CardRecord(
            tuple(Sighting.from_row(row) for row in sightings),
            tuple((int(ts_ms), str(txn_id)) for ts_ms, txn_id in recent),
            alerted_until,
        )

    def save(self, record: CardRecord) -> None:
        # orjson writes tuples as arrays but refuses tuple subclasses such as Sighting
        value = [[tuple(s) for s in record.sightings], record.recent, record.alerted_until]
        self._state.set(self._KEY, value, ttl=self._ttl)

    def _take_legacy(self) -> list[Any] | None:
        """The record of a card last written by an earlier version (two keys), if any.

        The old keys are deleted: the next ``save`` writes the single record.
        """
        sightings = self._state.get(self._LEGACY_SIGHTINGS)
        velocity = self._state.get(self._LEGACY_VELOCITY)
        if sightings is None and velocity is None:
            return None
        self._state.delete(self._LEGACY_SIGHTINGS)
        self._state.delete(self._LEGACY_VELOCITY)
        recent, alerted_until = velocity if velocity is not None else ([], None)
        return [sightings or [], recent, alerted_until]
