from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pipelines.common.events import FraudAlert, Transaction
from pipelines.fraud.geo import great_circle_km
from pipelines.fraud.rules import (
    IMPOSSIBLE_TRAVEL,
    TravelRule,
    VelocityRule,
    alert_id,
    check_travel,
    check_velocity,
    score_card,
    velocity_alert,
)
from state.cards import CardRecord

CITIES = {
    "London": (51.5074, -0.1278, "GB"),
    "Paris": (48.8566, 2.3522, "FR"),
    "New York": (40.7128, -74.0060, "US"),
}
RULE = TravelRule()
VELOCITY = VelocityRule(max_count=5, window_ms=60_000, late_grace_ms=3_600_000)


def at(hh_mm_ss: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-22T{hh_mm_ss}+00:00")


def txn(txn_id: str, ts: datetime, city: str, channel: str = "card_present") -> Transaction:
    lat, lon, country = CITIES[city]
    return Transaction.model_validate(
        {
            "txn_id": txn_id,
            "card_id": "card-1",
            "ts": ts,
            "lat": lat,
            "lon": lon,
            "amount": 12.5,
            "currency": "EUR",
            "merchant": f"Shop {city}",
            "country": country,
            "channel": channel,
            "city": city,
        }
    )


class Card:
    """One card's record, carried from one delivery to the next as the pipeline does."""

    def __init__(self, travel: TravelRule = RULE) -> None:
        self.record, self.travel = CardRecord(), travel

    def alerts(self, *txns: Transaction) -> list[FraudAlert]:
        """Deliver ``txns`` in this order; every alert raised."""
        found = []
        for tx in txns:
            alerts, self.record = score_card(tx, self.record, self.travel, VELOCITY)
            found += alerts
        return found

    def deliver(self, *txns: Transaction) -> list[list[str]]:
        """Deliver ``txns`` in this order; the txn ids of every travel alert raised."""
        return [a.txn_ids for a in self.alerts(*txns) if a.rule == IMPOSSIBLE_TRAVEL]

    def bursts(self, *deliveries: tuple[str, str]) -> list[list[str]]:
        """Deliver ``(txn_id, hh:mm:ss)`` in London; the txn ids of every velocity alert."""
        txns = [txn(txn_id, at(when), "London") for txn_id, when in deliveries]
        return [a.txn_ids for a in self.alerts(*txns) if a.rule == "velocity"]


def test_great_circle_distance_london_to_paris_is_about_344_km() -> None:
    assert great_circle_km(*CITIES["London"][:2], *CITIES["Paris"][:2]) == pytest.approx(
        343.6, abs=0.5
    )


def test_london_to_paris_in_40_seconds_is_flagged() -> None:
    alerts, card = check_travel(txn("t1", at("10:00:00"), "London"), CardRecord(), RULE)
    assert alerts == []

    [alert], _ = check_travel(txn("t2", at("10:00:40"), "Paris"), card, RULE)

    assert alert.rule == "impossible_travel"
    assert alert.card_id == "card-1"
    assert alert.txn_ids == ["t1", "t2"]
    assert alert.ts == at("10:00:40")
    assert alert.severity == "high"
    assert alert.distance_km == pytest.approx(343.6, abs=0.5)
    assert alert.speed_kmh == pytest.approx(343.6 * 90, rel=0.002)
    assert alert.from_ is not None
    assert alert.to is not None
    assert (alert.from_.country, alert.from_.ts) == ("GB", at("10:00:00"))
    assert (alert.to.country, alert.to.ts) == ("FR", at("10:00:40"))
    assert alert.reasons == [
        "card present in London (GB) and Paris (FR) 40 s apart: 344 km at 30 920 km/h, "
        "above the 900 km/h limit"
    ]
    assert alert.to_json_dict()["from"]["country"] == "GB"


def test_london_to_new_york_after_9_hours_is_not_flagged() -> None:
    assert (
        Card().deliver(txn("t1", at("08:00:00"), "London"), txn("t2", at("17:00:00"), "New York"))
        == []
    )


def test_nearby_places_are_never_flagged_however_fast() -> None:
    card = Card(TravelRule(min_distance_km=400))
    assert (
        card.deliver(txn("t1", at("10:00:00"), "London"), txn("t2", at("10:00:01"), "Paris")) == []
    )


def test_online_purchase_abroad_is_not_flagged_nor_stored_as_a_sighting() -> None:
    card = Card()
    london, online = (
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:01:00"), "New York", "online"),
    )
    assert card.deliver(london, online) == []

    assert [s.txn_id for s in card.record.sightings] == ["t1"]
    assert card.record.has_seen("t2")
    assert card.deliver(txn("t3", at("10:02:00"), "London")) == []


def test_late_event_is_compared_with_its_true_neighbours_in_event_time() -> None:
    card = Card()
    london_10, london_1005 = (
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:05:00"), "London"),
    )
    late_paris = txn("t3", at("10:00:40"), "Paris")

    assert card.deliver(london_10, london_1005, late_paris) == [["t1", "t3"], ["t3", "t2"]]
    assert [s.txn_id for s in card.record.sightings] == ["t1", "t3", "t2"]


def test_late_event_compared_only_with_the_earlier_neighbour_when_the_later_one_is_reachable() -> (
    None
):
    london_10, london_11 = txn("t1", at("10:00:00"), "London"), txn("t2", at("11:00:00"), "London")
    late_paris = txn("t3", at("10:00:40"), "Paris")

    assert Card().deliver(london_10, london_11, late_paris) == [["t1", "t3"]]


def test_late_event_that_is_legit_against_both_neighbours_raises_nothing() -> None:
    london, new_york = txn("t1", at("02:00:00"), "London"), txn("t2", at("20:00:00"), "New York")
    late_london = txn("t3", at("03:00:00"), "London")

    assert Card().deliver(london, new_york, late_london) == []


def test_duplicate_transaction_alerts_once_and_leaves_state_unchanged() -> None:
    card = Card()
    london, paris = txn("t1", at("10:00:00"), "London"), txn("t2", at("10:00:40"), "Paris")
    assert card.deliver(london, paris) == [["t1", "t2"]]
    before = card.record

    assert card.deliver(paris, london, paris) == []
    assert card.record is before


def test_replaying_a_whole_stream_alerts_nothing_new() -> None:
    card = Card()
    stream = [
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:00:40"), "Paris"),
        txn("t3", at("10:10:00"), "London"),
    ]
    assert len(card.deliver(*stream)) == 2
    assert card.deliver(*stream) == []


def test_same_time_in_two_far_places_is_flagged_without_dividing_by_zero() -> None:
    _, card = check_travel(txn("t1", at("10:00:00"), "London"), CardRecord(), RULE)

    [alert], _ = check_travel(txn("t2", at("10:00:00"), "Paris"), card, RULE)

    assert alert.speed_kmh == pytest.approx(343.6 * 3600, rel=0.002)
    assert "at the same time (equal or skewed clocks, gap counted as 1 s)" in alert.reasons[0]


def test_transaction_timestamped_before_the_last_one_is_ordered_not_flagged_as_negative() -> None:
    paris_later, london_earlier = (
        txn("t1", at("10:00:40"), "Paris"),
        txn("t2", at("10:00:00"), "London"),
    )

    [[earlier, later]] = Card().deliver(paris_later, london_earlier)

    assert (earlier, later) == ("t2", "t1")


def test_only_the_latest_sightings_are_kept_and_recent_transactions_are_recognised() -> None:
    card = Card(TravelRule(keep_sightings=2))
    for minute in range(5):
        card.deliver(txn(f"t{minute}", at(f"10:0{minute}:00"), "London"))

    assert [s.txn_id for s in card.record.sightings] == ["t3", "t4"]
    assert all(card.record.has_seen(f"t{m}") for m in range(5))
    assert card.deliver(txn("t0", at("10:00:00"), "London")) == []  # an evicted one, again
    assert [s.txn_id for s in card.record.sightings] == ["t3", "t4"]


def test_a_sighting_older_than_every_kept_one_is_too_late_to_judge() -> None:
    """Its earlier neighbour was evicted (or never kept), so no pair can be trusted."""
    card = Card(TravelRule(keep_sightings=2))
    card.deliver(*(txn(f"t{m}", at(f"10:0{m}:00"), "London") for m in (0, 5)))
    card.deliver(txn("t9", at("10:09:00"), "London"))  # t0 is evicted

    assert card.deliver(txn("late", at("10:04:30"), "Paris")) == []
    assert [s.txn_id for s in card.record.sightings] == ["t5", "t9"]
    assert Card().deliver(txn("t5", at("10:05:00"), "London"),
                          txn("late", at("10:04:30"), "Paris")) == [["late", "t5"]]  # fmt: skip


def test_alert_id_is_the_same_for_the_same_evidence_whatever_the_delivery_order() -> None:
    london, paris = txn("t1", at("10:00:00"), "London"), txn("t2", at("10:00:40"), "Paris")

    def alert_ids(*txns: Transaction) -> list[str]:
        return [a.alert_id for a in Card().alerts(*txns)]

    assert alert_ids(london, paris) == alert_ids(paris, london)
    assert alert_ids(london, paris) == [alert_id("impossible_travel", "card-1", "t1", "t2")]
    assert alert_id("impossible_travel", "card-1", "t1", "t2") != alert_id(
        "impossible_travel", "card-1", "t2", "t1"
    )


def test_velocity_alert_is_one_per_burst_with_a_readable_reason() -> None:
    start = at("10:00:00")
    ids = [f"t{i}" for i in range(7)]
    alert = velocity_alert(
        "card-1", ids, window_start=start, window_end=at("10:01:00"), count=7, limit=5
    )
    again = velocity_alert(
        "card-1", ids[:6], window_start=start, window_end=at("10:01:00"), count=6, limit=5
    )

    assert (alert.rule, alert.severity, alert.ts) == ("velocity", "medium", at("10:01:00"))
    assert alert.reasons == ["7 transactions within 60 s, above the limit of 5"]
    assert alert.txn_ids == ids
    assert alert.alert_id == again.alert_id
    assert alert.to is None
    assert alert.distance_km is None


def test_six_transactions_in_a_minute_alert_once_with_the_six() -> None:
    times = ["10:00:00", "10:00:05", "10:00:10", "10:00:15", "10:00:20", "10:00:25", "10:00:30"]
    found = Card().bursts(*[(f"r{i}", when) for i, when in enumerate(times, 1)])

    assert found == [["r1", "r2", "r3", "r4", "r5", "r6"]]


def test_a_burst_after_the_last_one_ended_alerts_again_and_five_never_do() -> None:
    first = [(f"a{i}", f"10:00:{10 * i:02d}") for i in range(6)]
    quiet = [("q1", "10:03:00"), ("q2", "10:03:30"), ("q3", "10:04:00")]
    second = [(f"b{i}", f"11:00:{5 * i:02d}") for i in range(6)]

    found = Card().bursts(*first, *quiet, *second)

    assert found == [[a for a, _ in first], [b for b, _ in second]]
    assert Card().bursts(*first[:5]) == []


def test_a_late_transaction_completes_the_burst_it_belongs_to() -> None:
    card = Card()
    on_time = [("t1", "10:00:00"), ("t2", "10:00:10"), ("t3", "10:00:20"),
               ("t4", "10:00:30"), ("t5", "10:00:50")]  # fmt: skip
    assert card.bursts(*on_time) == []

    [alert] = card.bursts(("late", "10:00:05"))

    assert alert == ["t1", "late", "t2", "t3", "t4", "t5"]  # event-time order


def test_a_transaction_later_than_the_grace_is_not_counted() -> None:
    card = Card()
    recent = [(f"t{i}", f"12:00:{10 * i:02d}") for i in range(5)]
    assert card.bursts(*recent, ("stale", "10:00:00")) == []
    assert "stale" not in {txn_id for _, txn_id in card.record.recent}


def test_a_very_busy_card_keeps_only_its_newest_transactions_and_alerts_as_before() -> None:
    """A card-testing attack: a charge every 10 s for 10 minutes, kept to the newest 8."""
    charges = [
        txn(f"x{i}", at("10:00:00") + timedelta(seconds=10 * i), "London", "online")
        for i in range(60)
    ]

    def alerted(rule: VelocityRule) -> tuple[list[str], CardRecord]:
        card, ids = CardRecord(), []
        for tx in charges:
            alert, card = check_velocity(tx, card, rule)
            ids += [alert.alert_id] if alert is not None else []
        return ids, card

    capped, card = alerted(VelocityRule(max_count=5, window_ms=60_000, keep_recent=8))
    uncapped, _ = alerted(VelocityRule(max_count=5, window_ms=60_000, keep_recent=256))

    assert [txn_id for _, txn_id in card.recent] == [f"x{i}" for i in range(52, 60)]
    assert capped == uncapped
    assert len(capped) == 8  # 7 charges per minute: a new burst every 70 s after the first
    older = txn("x0-again", at("10:00:05"), "London", "online")
    assert check_velocity(older, card, VelocityRule(keep_recent=8)) == (None, card)


def test_the_alert_window_ends_at_the_transaction_that_completed_it() -> None:
    card, alert = CardRecord(), None
    for i in range(6):
        alert, card = check_velocity(
            txn(f"r{i}", at(f"10:00:{5 * i:02d}"), "London"), card, VELOCITY
        )
    assert alert is not None
    assert alert.ts == at("10:00:25")
    assert alert.alert_id == alert_id(
        "velocity", "card-1", str(int(at("09:59:25").timestamp() * 1000))
    )


def test_rule_rejects_settings_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="keep_sightings must be at least 1, got 0"):
        TravelRule(keep_sightings=0)
    with pytest.raises(ValueError, match="max_speed_kmh must be positive"):
        TravelRule(max_speed_kmh=0)
    with pytest.raises(ValueError, match="max_count and window_ms must be positive"):
        VelocityRule(max_count=0)
    with pytest.raises(ValueError, match=r"keep_recent \(5\) must exceed max_count \(5\)"):
        VelocityRule(max_count=5, keep_recent=5)
