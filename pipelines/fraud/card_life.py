"""One card's life in event time: its holder's purchases and trips, and the frauds it suffers.

Every card lives in one of the world's largest cities. Its holder mostly buys
locally, hours apart, shops online at foreign merchants and sometimes flies
somewhere and back. Some cards are cloned (used in a far city minutes after a
purchase at home) and some see a burst of purchases within a minute. Each card
draws from an RNG of its own, so one card's life never changes another's;
``generator.py`` runs the lives and delivers their events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipelines.common.events import Customer, Transaction
from pipelines.fraud.cities import City
from pipelines.fraud.geo import great_circle_km

BURST_SIZE = 8
TRIP_SHARE = 0.35
ONLINE_SHARE = 0.2
NOTICE_SHARE = 0.5
HIGH_RISK_SHARE = 0.1
SPOT_JITTER_DEG = 0.04
"""Shops sit within this many degrees of the city centre: any two are under 50 km apart."""
MIN_FLIGHT_KM = 300.0
MIN_CLONE_KM = 1000.0
"""Far enough that the clone's first use, under 30 minutes later, is impossible travel."""

SHOP_KINDS = (
    "Grocer",
    "Café",
    "Pharmacy",
    "Fuel",
    "Bookshop",
    "Restaurant",
    "Electronics",
    "Supermarket",
    "Bakery",
    "Cinema",
)
ONLINE_BRANDS = ("ShopNow", "GadgetHub", "StreamFlix", "BookWorld", "TicketGo", "FashionBox")


@dataclass(frozen=True)
class Burst:
    """Ground truth for the velocity rule: ``BURST_SIZE`` purchases within a minute."""

    card_id: str
    start: datetime
    end: datetime
    txn_ids: tuple[str, ...]


class TxnIds:
    """Hands out txn ids in generation order: unique, and stable for a seed."""

    def __init__(self, seed: int) -> None:
        self._seed, self._count = seed, 0

    def next(self) -> str:
        self._count += 1
        return f"txn-s{self._seed}-{self._count:07d}"


@dataclass
class CardLife:
    """One card's activity in event time, written by a cursor that only moves forward."""

    card_id: str
    customer_id: str
    home: City
    risk_tier: str
    cities: tuple[City, ...]
    rng: random.Random
    mint: TxnIds
    txns: list[Transaction] = field(default_factory=list)
    notices: list[dict[str, str]] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    cloned: set[str] = field(default_factory=set)

    def customer(self) -> Customer:
        return Customer.model_validate(
            {
                "card_id": self.card_id,
                "customer_id": self.customer_id,
                "home_country": self.home.country,
                "travel_notices": self.notices,
                "risk_tier": self.risk_tier,
            }
        )

    def shop(self, city: City, ts: datetime) -> Transaction:
        """A card-present purchase somewhere in ``city``."""
        return self._pay(city, ts, f"{self.rng.choice(SHOP_KINDS)} {city.name}", self._spot(city))

    def shop_online(self, ts: datetime) -> None:
        """An online purchase from a merchant abroad: says nothing about where the card is."""
        merchant = self.rng.choice([c for c in self.cities if c.country != self.home.country])
        brand = self.rng.choice(ONLINE_BRANDS)
        self._pay(
            merchant,
            ts,
            f"{brand} {merchant.country}",
            (merchant.lat, merchant.lon),
            channel="online",
        )

    def trip(self, ts: datetime) -> datetime:
        """Fly somewhere, shop there for a few days, fly home; returns the time back home."""
        dest = self._city_at_least(MIN_FLIGHT_KM)
        t = self._fly(self.home, dest, ts)
        stay_until = t + timedelta(days=self.rng.uniform(1, 4))
        t += _hours(self.rng.uniform(2, 8))
        while t < stay_until:
            if self.rng.random() < ONLINE_SHARE:
                self.shop_online(t)
            else:
                self.shop(dest, t)
            t += _hours(self.rng.uniform(3, 10))
        back = self._fly(dest, self.home, t)
        if dest.country != self.home.country and self.rng.random() < NOTICE_SHARE:
            self.notices.append(
                {"country": dest.country, "from": ts.date().isoformat(), "to": t.date().isoformat()}
            )
        return back

    def clone(self, ts: datetime) -> datetime:
        """A purchase at home, then a cloned card used in a far city minutes later."""
        self.shop(self.home, ts)
        far = self._city_at_least(MIN_CLONE_KM)
        t = ts + whole_seconds(self.rng.uniform(120, 1800))
        for _ in range(self.rng.randint(1, 3)):
            self.cloned.add(self.shop(far, t).txn_id)
            t += whole_seconds(self.rng.uniform(180, 1200))
        return t

    def burst(self, ts: datetime) -> datetime:
        """``BURST_SIZE`` purchases at one terminal at home within a minute (card testing)."""
        merchant, spot = f"{self.rng.choice(SHOP_KINDS)} {self.home.name}", self._spot(self.home)
        t, ids = ts, []
        for _ in range(BURST_SIZE):
            ids.append(self._pay(self.home, t, merchant, spot).txn_id)
            t += timedelta(seconds=self.rng.randint(2, 7))
        self.bursts.append(Burst(self.card_id, ts, self.txns[-1].ts, tuple(ids)))
        return t

    def _fly(self, origin: City, dest: City, ts: datetime) -> datetime:
        """A purchase at the departure airport, then one on arrival; returns arrival time.

        The flight takes its distance at 650-850 km/h plus 1.5-4 h on the ground,
        so no legitimate trip ever exceeds a 900 km/h rule.
        """
        departure = self._pay(origin, ts, f"Duty Free {origin.name} Airport", self._spot(origin))
        spot = self._spot(dest)
        distance = great_circle_km(departure.lat, departure.lon, *spot)
        flight_h = distance / self.rng.uniform(650, 850) + self.rng.uniform(1.5, 4)
        arrival = ts + whole_seconds(flight_h * 3600 + 1)
        self._pay(dest, arrival, f"Arrivals Café {dest.name} Airport", spot)
        return arrival

    def _pay(
        self,
        city: City,
        ts: datetime,
        merchant: str,
        spot: tuple[float, float],
        channel: str = "card_present",
    ) -> Transaction:
        tx = Transaction.model_validate(
            {
                "txn_id": self.mint.next(),
                "card_id": self.card_id,
                "ts": ts,
                "lat": spot[0],
                "lon": spot[1],
                "amount": round(self.rng.lognormvariate(3.3, 0.9), 2),
                "currency": city.currency,
                "merchant": merchant,
                "country": city.country,
                "channel": channel,
                "city": city.name,
            }
        )
        self.txns.append(tx)
        return tx

    def _spot(self, city: City) -> tuple[float, float]:
        return (
            round(city.lat + self.rng.uniform(-SPOT_JITTER_DEG, SPOT_JITTER_DEG), 5),
            round(city.lon + self.rng.uniform(-SPOT_JITTER_DEG, SPOT_JITTER_DEG), 5),
        )

    def _city_at_least(self, km: float) -> City:
        home = self.home
        return self.rng.choice(
            [c for c in self.cities if great_circle_km(home.lat, home.lon, c.lat, c.lon) >= km]
        )


def simulate_card(
    index: int,
    seed: int,
    cities: tuple[City, ...],
    mint: TxnIds,
    *,
    span: tuple[datetime, datetime],
    fraud_rate: float,
    burst_rate: float,
) -> CardLife:
    """Simulate one card from ``start`` to ``end``; its own RNG keeps other cards unaffected."""
    rng = random.Random(f"{seed}:card:{index}")
    life = CardLife(
        card_id=f"card-s{seed}-{index:05d}",
        customer_id=f"cust-s{seed}-{index:05d}",
        home=rng.choice(cities),
        risk_tier="high" if rng.random() < HIGH_RISK_SHARE else "standard",
        cities=cities,
        rng=rng,
        mint=mint,
    )
    start, end = span
    span_s = (end - start).total_seconds()

    def sometime(share: float) -> datetime | None:
        return (
            start + whole_seconds(rng.uniform(0.1, 0.8) * span_s) if rng.random() < share else None
        )

    trip_at, clone_at, burst_at = sometime(TRIP_SHARE), sometime(fraud_rate), sometime(burst_rate)
    t = start + _hours(rng.uniform(0, 8))
    while t < end:
        if trip_at is not None and t >= trip_at:
            t, trip_at = life.trip(t), None
        elif clone_at is not None and t >= clone_at:
            t, clone_at = life.clone(t), None
        elif burst_at is not None and t >= burst_at:
            t, burst_at = life.burst(t), None
        elif rng.random() < ONLINE_SHARE:
            life.shop_online(t)
        else:
            life.shop(life.home, t)
        t += _hours(rng.uniform(2, 10))
    return life


def _hours(hours: float) -> timedelta:
    return whole_seconds(hours * 3600)


def whole_seconds(seconds: float) -> timedelta:
    """Whole seconds: timestamps on the wire carry no fractions."""
    return timedelta(seconds=int(seconds))
