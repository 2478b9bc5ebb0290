from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from pipelines.common.events import FraudAlert, Transaction
from pipelines.fraud.card_life import BURST_SIZE
from pipelines.fraud.generator import GeneratedStream, generate
from pipelines.fraud.geo import great_circle_km
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL, TravelRule, VelocityRule, score_card
from state.cards import CardRecord

RULE = TravelRule()


@pytest.fixture(scope="module")
def stream() -> GeneratedStream:
    return generate(
        n_cards=120, days=7, seed=7, fraud_rate=0.2, late_rate=0.05, duplicate_rate=0.02
    )


@pytest.fixture(scope="module")
def alerts(stream: GeneratedStream) -> list[FraudAlert]:
    """The travel alerts of the stream as delivered, each card's record carried along."""
    cards: defaultdict[str, CardRecord] = defaultdict(CardRecord)
    found = []
    for tx in stream.transactions:
        raised, cards[tx.card_id] = score_card(tx, cards[tx.card_id], RULE, VelocityRule())
        found += [alert for alert in raised if alert.rule == IMPOSSIBLE_TRAVEL]
    return found


def by_card(transactions: list[Transaction]) -> dict[str, list[Transaction]]:
    cards: defaultdict[str, list[Transaction]] = defaultdict(list)
    for tx in transactions:
        cards[tx.card_id].append(tx)
    return cards


def test_same_seed_gives_the_same_stream_and_another_seed_another() -> None:
    first, again = generate(n_cards=20, seed=3), generate(n_cards=20, seed=3)
    other = generate(n_cards=20, seed=4)

    assert [t.to_json_dict() for t in first.transactions] == [
        t.to_json_dict() for t in again.transactions
    ]
    assert first.customers == again.customers
    assert first.expected == again.expected
    assert {t.txn_id for t in first.transactions}.isdisjoint(t.txn_id for t in other.transactions)


def test_travel_rule_over_the_delivered_stream_finds_exactly_the_expected_alerts(
    stream: GeneratedStream, alerts: list[FraudAlert]
) -> None:
    ids = [alert.alert_id for alert in alerts]

    assert len(stream.transactions) > 3000
    assert len(stream.expected) >= 10
    assert len(ids) == len(set(ids)), "an alert was raised twice"
    assert set(ids) == stream.expected


def test_legit_activity_is_never_flagged_and_every_cloned_card_is(
    stream: GeneratedStream, alerts: list[FraudAlert]
) -> None:
    flagged = {txn_id for alert in alerts for txn_id in alert.txn_ids}
    first_clone_use = {
        card: min((t for t in txns if t.txn_id in stream.cloned_txn_ids), key=lambda t: t.ts)
        for card, txns in by_card(stream.transactions).items()
        if any(t.txn_id in stream.cloned_txn_ids for t in txns)
    }

    assert all(set(alert.txn_ids) & stream.cloned_txn_ids for alert in alerts)
    assert len(first_clone_use) >= 10
    assert all(tx.txn_id in flagged for tx in first_clone_use.values())


def test_some_expected_alerts_pair_events_delivered_out_of_order(
    stream: GeneratedStream, alerts: list[FraudAlert]
) -> None:
    position = {}
    for index, tx in enumerate(stream.transactions):
        position.setdefault(tx.txn_id, index)

    assert any(
        position[later] < position[earlier] for earlier, later in (a.txn_ids for a in alerts)
    )


def test_stream_holds_late_events_duplicates_online_purchases_and_legit_flights(
    stream: GeneratedStream,
) -> None:
    copies = Counter(t.txn_id for t in stream.transactions)
    cards = by_card(stream.transactions)
    homes = {c.card_id: c.home_country for c in stream.customers}
    online = [t for t in stream.transactions if t.channel == "online"]
    in_event_order = [
        sorted(
            {t.txn_id: t for t in txns if t.channel == "card_present"}.values(), key=lambda t: t.ts
        )
        for txns in cards.values()
    ]
    legit_flights = [
        (a, b)
        for sightings in in_event_order
        for a, b in pairwise(sightings)
        if great_circle_km(a.lat, a.lon, b.lat, b.lon) >= 300
        and not {a.txn_id, b.txn_id} & stream.cloned_txn_ids
    ]

    assert 2 in copies.values()
    assert any(b.ts < a.ts for txns in cards.values() for a, b in pairwise(txns)), "nothing late"
    assert any(t.country != homes[t.card_id] for t in online)
    assert len(legit_flights) >= 20
    assert any(c.travel_notices for c in stream.customers)
    assert any(c.risk_tier == "high" for c in stream.customers)


def test_velocity_bursts_pack_many_purchases_into_a_minute(stream: GeneratedStream) -> None:
    bursts = [b for card_bursts in stream.expected_velocity.values() for b in card_bursts]

    assert bursts
    assert all(len(b.txn_ids) == BURST_SIZE for b in bursts)
    assert all(b.end - b.start < timedelta(minutes=1) for b in bursts)


def test_outside_bursts_no_card_buys_four_times_within_a_minute(stream: GeneratedStream) -> None:
    in_bursts = {
        i for bursts in stream.expected_velocity.values() for b in bursts for i in b.txn_ids
    }
    events = {t.txn_id: t for t in stream.transactions if t.txn_id not in in_bursts}

    for txns in by_card(list(events.values())).values():
        times = sorted(t.ts for t in txns)
        assert all(b - a >= timedelta(minutes=1) for a, b in zip(times, times[3:], strict=False))


def test_timestamps_are_utc_aware_and_txn_ids_unique_per_event(stream: GeneratedStream) -> None:
    events = {t.txn_id: t for t in stream.transactions}

    assert all(t.ts.utcoffset() == timedelta(0) for t in events.values())
    assert len(events) == len({(t.card_id, t.ts, t.merchant, t.amount) for t in events.values()})
    assert min(t.ts for t in events.values()) >= datetime(2026, 11, 16, tzinfo=UTC)


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(n_cards=1, start=datetime(2026, 11, 16))


def test_timestamps_are_utc_whatever_the_zone_of_start() -> None:
    paris_midnight = datetime.fromisoformat("2026-11-16T00:00:00+01:00")
    txns = generate(n_cards=2, start=paris_midnight).transactions

    assert all(t.ts.tzinfo == UTC for t in txns)
    assert min(t.ts for t in txns) >= paris_midnight
