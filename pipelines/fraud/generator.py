"""Seeded, realistic card activity with its ground truth, for the demo, tests and benchmarks.

Each card's life is simulated in ``card_life.py``; this module runs them, works out
the alerts a correct fraud pipeline must raise, and delivers the events as real ones
reach a stream: a few late, a few twice.

The same seed gives the same events, ids and delivery order.
"""

from __future__ import annotations

import random
from bisect import insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from pipelines.common.events import Customer, Transaction
from pipelines.fraud.card_life import Burst, CardLife, TxnIds, simulate_card, whole_seconds
from pipelines.fraud.cities import largest_cities
from pipelines.fraud.rules import TravelRule, neighbour_pairs, sighting_of, travel_alert
from state.cards import Sighting

DEFAULT_START = datetime(2026, 11, 16, tzinfo=UTC)
DEFAULT_RULE = TravelRule()
CITY_POOL = 300
"""Homes and destinations are drawn uniformly from this many largest cities."""
MAX_LATENESS = timedelta(hours=3)
"""Late events arrive at most this long after their event time."""
MAX_DUPLICATE_DELAY = timedelta(minutes=10)
"""A duplicate arrives at most this long after the first copy."""


@dataclass(frozen=True)
class GeneratedStream:
    """The events to produce, and what a correct fraud pipeline must make of them."""

    customers: list[Customer]
    transactions: list[Transaction]
    """Delivery order, not event order: late events after later ones, duplicates repeated."""
    expected: set[str]
    """Ids of the impossible-travel alerts due: every pair of consecutive card-present
    transactions of a card (in event time) that violates the rule."""
    expected_velocity: dict[str, list[Burst]]
    """The bursts of each card that has any."""
    cloned_txn_ids: set[str]
    """Card-present purchases made with a cloned card."""


def generate(
    *,
    n_cards: int = 200,
    days: int = 7,
    seed: int = 0,
    fraud_rate: float = 0.1,
    burst_rate: float = 0.05,
    late_rate: float = 0.03,
    duplicate_rate: float = 0.01,
    start: datetime = DEFAULT_START,
    rule: TravelRule = DEFAULT_RULE,
) -> GeneratedStream:
    """Generate ``days`` of activity on ``n_cards`` cards from ``start`` (timezone-aware).

    ``fraud_rate`` is the share of cards cloned once, ``burst_rate`` the share
    with one velocity burst; ``late_rate`` and ``duplicate_rate`` are per event.
    ``rule`` decides which pairs of sightings are expected alerts.
    """
    if start.tzinfo is None:
        msg = f"start must be timezone-aware, got {start!r}"
        raise ValueError(msg)
    start = start.astimezone(UTC)
    cities = largest_cities(CITY_POOL)
    mint = TxnIds(seed)
    lives = [
        simulate_card(
            index,
            seed,
            cities,
            mint,
            span=(start, start + timedelta(days=days)),
            fraud_rate=fraud_rate,
            burst_rate=burst_rate,
        )
        for index in range(n_cards)
    ]
    delivery = random.Random(f"{seed}:delivery")
    return GeneratedStream(
        customers=[life.customer() for life in lives],
        transactions=_deliver(lives, delivery, late_rate, duplicate_rate, rule),
        expected={
            alert.alert_id
            for life in lives
            for earlier, later in pairwise(_in_event_order(life.txns))
            if (alert := travel_alert(life.card_id, earlier, later, rule)) is not None
        },
        expected_velocity={life.card_id: life.bursts for life in lives if life.bursts},
        cloned_txn_ids={txn_id for life in lives for txn_id in life.cloned},
    )


def _deliver(
    lives: list[CardLife],
    rng: random.Random,
    late_rate: float,
    duplicate_rate: float,
    rule: TravelRule,
) -> list[Transaction]:
    """Order every card's events as a broker would hand them over: some late, some twice.

    A detector cannot take an alert back. If a delay let two sightings look
    consecutive, and impossible, before a late one landed between them, the
    alerts would depend on delivery order rather than on what happened, so such
    a card's events are delivered on time instead.
    """
    arrivals: list[tuple[datetime, int, Transaction]] = []
    for life in lives:
        delays = [
            whole_seconds(rng.uniform(60, MAX_LATENESS.total_seconds()))
            if rng.random() < late_rate
            else timedelta(0)
            for _ in life.txns
        ]
        repeats = [
            whole_seconds(rng.uniform(1, MAX_DUPLICATE_DELAY.total_seconds()))
            if rng.random() < duplicate_rate
            else None
            for _ in life.txns
        ]
        in_order = [tx for _, tx in sorted(zip(delays, life.txns, strict=True), key=_arrival_key)]
        if _order_dependent(life.card_id, in_order, rule):
            delays = [timedelta(0) for _ in life.txns]
        for tx, delay, repeat in zip(life.txns, delays, repeats, strict=True):
            arrivals.append((tx.ts + delay, len(arrivals), tx))
            if repeat is not None:
                arrivals.append((tx.ts + delay + repeat, len(arrivals), tx))
    return [tx for _, _, tx in sorted(arrivals, key=lambda a: (a[0], a[1]))]


def _arrival_key(delayed: tuple[timedelta, Transaction]) -> tuple[datetime, str]:
    delay, tx = delayed
    return tx.ts + delay, tx.txn_id


def _order_dependent(card_id: str, delivered: list[Transaction], rule: TravelRule) -> bool:
    """Whether, delivered in this order, some compared pair is impossible yet not consecutive."""
    consecutive = {(a.txn_id, b.txn_id) for a, b in pairwise(_in_event_order(delivered))}
    arrived: list[Sighting] = []
    for tx in delivered:
        if tx.channel != "card_present":
            continue
        new = sighting_of(tx)
        for earlier, later in neighbour_pairs(arrived, new):
            if (earlier.txn_id, later.txn_id) not in consecutive and travel_alert(
                card_id, earlier, later, rule
            ):
                return True
        insort(arrived, new, key=lambda s: s.order_key)
    return False


def _in_event_order(txns: list[Transaction]) -> list[Sighting]:
    """A card's sightings (card-present transactions) in event time."""
    return sorted(
        (sighting_of(tx) for tx in txns if tx.channel == "card_present"),
        key=lambda s: s.order_key,
    )
