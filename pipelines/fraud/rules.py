"""Fraud rules as pure functions: a transaction, the card's record and settings in; alerts and
the card's new record out.

No broker and no clock: every time is the event time carried by the transactions,
so a replay of the same events produces the same alerts with the same ids.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pipelines.common.epoch import from_ms, to_ms
from pipelines.common.events import FraudAlert, Severity, Transaction
from pipelines.fraud.geo import great_circle_km
from state.cards import CardRecord, Sighting

IMPOSSIBLE_TRAVEL = "impossible_travel"
VELOCITY = "velocity"


@dataclass(frozen=True)
class TravelRule:
    """When two card-present uses are too far apart for the time between them.

    ``min_distance_km`` absorbs GPS noise and neighbouring towns; ``max_speed_kmh``
    sits above airliner cruise speed, so any real flight passes.
    """

    max_speed_kmh: float = 900.0
    min_distance_km: float = 50.0
    keep_sightings: int = 20
    severity: Severity = "high"

    def __post_init__(self) -> None:
        if self.max_speed_kmh <= 0:
            msg = f"max_speed_kmh must be positive, got {self.max_speed_kmh!r}"
            raise ValueError(msg)
        if self.keep_sightings < 1:
            msg = f"keep_sightings must be at least 1, got {self.keep_sightings!r}"
            raise ValueError(msg)


@dataclass(frozen=True)
class VelocityRule:
    """More than ``max_count`` transactions of one card within any ``window_ms`` (event time).

    Windows are closed intervals ``[end - window_ms, end]`` ending at a transaction,
    as Quix sliding windows are. A transaction more than ``late_grace_ms`` older
    than the card's newest is too late to be counted. A card keeps at most
    ``keep_recent`` transactions, the newest: a card under a card-testing attack
    (thousands of small charges an hour) must not make its state, read and written
    for every transaction, grow without bound. Once that many are kept, one older
    than all of them is too late as well.
    """

    max_count: int = 5
    window_ms: int = 60_000
    late_grace_ms: int = 3 * 3600 * 1000
    keep_recent: int = 256

    def __post_init__(self) -> None:
        if self.max_count < 1 or self.window_ms < 1:
            msg = f"max_count and window_ms must be positive: {self.max_count}, {self.window_ms}"
            raise ValueError(msg)
        if self.keep_recent <= self.max_count:
            msg = f"keep_recent ({self.keep_recent}) must exceed max_count ({self.max_count})"
            raise ValueError(msg)


def alert_id(rule: str, card_id: str, *evidence: str) -> str:
    """A deterministic id: the same rule on the same evidence gives the same id.

    Restarts and replays therefore re-emit an identical alert that downstream
    upserts absorb, instead of a new one.
    """
    material = "\x1f".join((rule, card_id, *evidence)).encode()
    return hashlib.blake2b(material, digest_size=16).hexdigest()


def sighting_of(tx: Transaction) -> Sighting:
    """Where ``tx`` puts the card; the producer's optional ``city`` field names the place."""
    city = (tx.model_extra or {}).get("city")
    return Sighting(
        txn_id=tx.txn_id,
        ts_ms=to_ms(tx.ts),
        lat=tx.lat,
        lon=tx.lon,
        country=tx.country,
        place_name=city if isinstance(city, str) and city else tx.merchant,
    )


def score_card(
    tx: Transaction, card: CardRecord, travel: TravelRule, velocity: VelocityRule
) -> tuple[list[FraudAlert], CardRecord]:
    """Both rules for one transaction of ``card``: the alerts, and the card's new record.

    A duplicate or replayed ``txn_id`` yields nothing and the record as it was.
    """
    if card.has_seen(tx.txn_id):
        return [], card
    alerts, card = check_travel(tx, card, travel)
    burst, card = check_velocity(tx, card, velocity)
    return ([*alerts, burst] if burst is not None else alerts), card


def check_travel(
    tx: Transaction, card: CardRecord, rule: TravelRule
) -> tuple[list[FraudAlert], CardRecord]:
    """Flag ``tx`` if the card cannot have travelled to or from its event-time neighbours.

    Online purchases say nothing about where the card is and leave the sightings
    alone. A late transaction is compared with the sightings just before and just
    after it in event time, not with the last one delivered. One older than every
    kept sighting, once ``keep_sightings`` are kept, has lost its earlier neighbour
    to eviction: it is neither compared nor kept.
    """
    if tx.channel != "card_present":
        return [], card
    new = sighting_of(tx)
    kept = card.sightings
    if len(kept) >= rule.keep_sightings and new.order_key < kept[0].order_key:
        return [], card
    pairs = neighbour_pairs(kept, new)
    latest = list(kept)
    insort(latest, new, key=lambda s: s.order_key)
    card = replace(card, sightings=tuple(latest[-rule.keep_sightings :]))
    alerts = [
        alert
        for earlier, later in pairs
        if (alert := travel_alert(tx.card_id, earlier, later, rule)) is not None
    ]
    return alerts, card


def neighbour_pairs(
    sightings: Sequence[Sighting], new: Sighting
) -> list[tuple[Sighting, Sighting]]:
    """The pairs ``new`` forms with its neighbours in event time, earlier sighting first.

    ``sightings`` must be in event-time order. A late sighting lands between the
    latest earlier one and the earliest later one: its true neighbours.
    """
    at = bisect_left(sightings, new.order_key, key=lambda s: s.order_key)
    pairs = [(sightings[at - 1], new)] if at > 0 else []
    if at < len(sightings):
        pairs.append((new, sightings[at]))
    return pairs


def travel_alert(
    card_id: str, earlier: Sighting, later: Sighting, rule: TravelRule
) -> FraudAlert | None:
    """The alert for two consecutive sightings, or None when the trip was possible.

    Times closer than one second (equal, or skewed terminal clocks) count as one
    second: places far apart at the same moment are impossible, not a division
    by zero.
    """
    distance = great_circle_km(earlier.lat, earlier.lon, later.lat, later.lon)
    if distance < rule.min_distance_km:
        return None
    gap_s = (later.ts_ms - earlier.ts_ms) / 1000
    speed = distance / (max(gap_s, 1.0) / 3600)
    if speed <= rule.max_speed_kmh:
        return None
    when = (
        f"{_duration(gap_s)} apart"
        if gap_s >= 1
        else "at the same time (equal or skewed clocks, gap counted as 1 s)"
    )
    reason = (
        f"card present in {earlier.place_name} ({earlier.country}) and "
        f"{later.place_name} ({later.country}) {when}: {_grouped(distance)} km at "
        f"{_grouped(speed)} km/h, above the {_grouped(rule.max_speed_kmh)} km/h limit"
    )
    return FraudAlert.model_validate(
        {
            "alert_id": alert_id(IMPOSSIBLE_TRAVEL, card_id, earlier.txn_id, later.txn_id),
            "rule": IMPOSSIBLE_TRAVEL,
            "card_id": card_id,
            "txn_ids": [earlier.txn_id, later.txn_id],
            "ts": from_ms(later.ts_ms),
            "severity": rule.severity,
            "reasons": [reason],
            "distance_km": round(distance, 1),
            "speed_kmh": float(round(speed)),
            "from": _place(earlier),
            "to": _place(later),
        }
    )


def check_velocity(
    tx: Transaction, card: CardRecord, rule: VelocityRule
) -> tuple[FraudAlert | None, CardRecord]:
    """Count a new (never seen) transaction: the alert if it completes a new burst.

    A burst alerts once: a window over the limit that starts after the end of the
    card's last alerted burst. A late transaction also completes windows ending at
    later transactions, so those are checked too, earliest first. The card keeps
    the transactions within ``window_ms + late_grace_ms`` of its newest, at most
    ``keep_recent`` of them.
    """
    entry = (to_ms(tx.ts), tx.txn_id)
    if len(card.recent) >= rule.keep_recent and entry < card.recent[0]:
        return None, card
    ts_ms = entry[0]
    recent = list(card.recent)
    insort(recent, entry)
    horizon = recent[-1][0] - rule.window_ms - rule.late_grace_ms
    recent = [kept for kept in recent[-rule.keep_recent :] if kept[0] >= horizon]
    burst = first_new_burst(recent, ts_ms, rule, card.alerted_until) if ts_ms >= horizon else None
    if burst is None:
        return None, replace(card, recent=tuple(recent))
    end_ms = burst[-1][0]
    alert = velocity_alert(
        tx.card_id,
        [txn_id for _, txn_id in burst],
        window_start=from_ms(end_ms - rule.window_ms),
        window_end=from_ms(end_ms),
        count=len(burst),
        limit=rule.max_count,
    )
    return alert, replace(card, recent=tuple(recent), alerted_until=end_ms)


def first_new_burst(
    recent: Sequence[tuple[int, str]], at_ms: int, rule: VelocityRule, alerted_until: int | None
) -> list[tuple[int, str]] | None:
    """The earliest window containing ``at_ms`` that is over the limit and not yet alerted.

    Candidate windows end at each transaction from ``at_ms`` to ``at_ms + window_ms``;
    ``recent`` is in event-time order. Returns the window's transactions.
    """
    first = bisect_left(recent, (at_ms - rule.window_ms, ""))
    for end in range(bisect_left(recent, (at_ms, "")), len(recent)):
        end_ms = recent[end][0]
        if end_ms > at_ms + rule.window_ms:
            break
        if end + 1 < len(recent) and recent[end + 1][0] == end_ms:
            continue  # a window ends after every transaction of its last millisecond
        start_ms = end_ms - rule.window_ms
        while recent[first][0] < start_ms:
            first += 1
        window = recent[first : end + 1]
        if len(window) > rule.max_count and (alerted_until is None or start_ms > alerted_until):
            return list(window)
    return None


def velocity_alert(
    card_id: str,
    txn_ids: Sequence[str],
    *,
    window_start: datetime,
    window_end: datetime,
    count: int,
    limit: int,
) -> FraudAlert:
    """The alert for a burst of ``count`` transactions in one window, above ``limit``.

    The id depends on the card and the window start only, so a burst is one
    alert however often the window is re-emitted or replayed.
    """
    start_ms = to_ms(window_start)
    window_s = (window_end - window_start).total_seconds()
    return FraudAlert(
        alert_id=alert_id(VELOCITY, card_id, str(start_ms)),
        rule=VELOCITY,
        card_id=card_id,
        txn_ids=list(txn_ids),
        ts=window_end,
        severity="medium",
        reasons=[f"{count} transactions within {_grouped(window_s)} s, above the limit of {limit}"],
    )


def _place(sighting: Sighting) -> dict[str, object]:
    return {
        "lat": sighting.lat,
        "lon": sighting.lon,
        "country": sighting.country,
        "ts": from_ms(sighting.ts_ms),
    }


def _grouped(value: float) -> str:
    """``30960.4`` -> ``"30 960"``: whole units, thousands separated by spaces."""
    return f"{value:,.0f}".replace(",", " ")


def _duration(seconds: float) -> str:
    """A short human duration: ``40 s``, ``4 min 20 s``, ``9 h 5 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
