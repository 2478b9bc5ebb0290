from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pipelines.common.events import Transaction
from pipelines.fraud.geo import great_circle_km
from pipelines.fraud.rules import (
    TravelRule,
    VelocityRule,
    alert_id,
    check_travel,
    check_velocity,
    velocity_alert,
)
from state.cards import CardHistory, VelocityLedger

from .dict_state import DictState

CITIES = {
    "London": (51.5074, -0.1278, "GB"),
    "Paris": (48.8566, 2.3522, "FR"),
    "New York": (40.7128, -74.0060, "US"),
}
TTL = timedelta(days=30)
RULE = TravelRule()


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


def feed(state: DictState, *txns: Transaction) -> list[list[str]]:
    """Deliver ``txns`` in this order; the txn ids of every alert raised."""
    return [
        alert.txn_ids
        for tx in txns
        for alert in check_travel(tx, CardHistory(state, ttl=TTL), RULE)
    ]


def test_great_circle_distance_london_to_paris_is_about_344_km() -> None:
    assert great_circle_km(*CITIES["London"][:2], *CITIES["Paris"][:2]) == pytest.approx(
        343.6, abs=0.5
    )


def test_london_to_paris_in_40_seconds_is_flagged() -> None:
    state = DictState()
    history = CardHistory(state, ttl=TTL)
    assert check_travel(txn("t1", at("10:00:00"), "London"), history, RULE) == []

    [alert] = check_travel(txn("t2", at("10:00:40"), "Paris"), CardHistory(state, ttl=TTL), RULE)

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
    state = DictState()
    assert (
        feed(state, txn("t1", at("08:00:00"), "London"), txn("t2", at("17:00:00"), "New York"))
        == []
    )


def test_nearby_places_are_never_flagged_however_fast() -> None:
    rule = TravelRule(min_distance_km=400)
    history = CardHistory(DictState(), ttl=TTL)
    check_travel(txn("t1", at("10:00:00"), "London"), history, rule)
    assert check_travel(txn("t2", at("10:00:01"), "Paris"), history, rule) == []


def test_online_purchase_abroad_is_not_flagged_nor_stored_as_a_sighting() -> None:
    state = DictState()
    london, online = (
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:01:00"), "New York", "online"),
    )
    assert feed(state, london, online) == []

    history = CardHistory(state, ttl=TTL)
    assert [s.txn_id for s in history.sightings()] == ["t1"]
    assert history.has_seen("t2")
    assert feed(state, txn("t3", at("10:02:00"), "London")) == []


def test_late_event_is_compared_with_its_true_neighbours_in_event_time() -> None:
    state = DictState()
    london_10, london_1005 = (
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:05:00"), "London"),
    )
    late_paris = txn("t3", at("10:00:40"), "Paris")

    assert feed(state, london_10, london_1005, late_paris) == [["t1", "t3"], ["t3", "t2"]]
    sightings = CardHistory(state, ttl=TTL).sightings()
    assert [s.txn_id for s in sightings] == ["t1", "t3", "t2"]


def test_late_event_compared_only_with_the_earlier_neighbour_when_the_later_one_is_reachable() -> (
    None
):
    state = DictState()
    london_10, london_11 = txn("t1", at("10:00:00"), "London"), txn("t2", at("11:00:00"), "London")
    late_paris = txn("t3", at("10:00:40"), "Paris")

    assert feed(state, london_10, london_11, late_paris) == [["t1", "t3"]]


def test_late_event_that_is_legit_against_both_neighbours_raises_nothing() -> None:
    state = DictState()
    london, new_york = txn("t1", at("02:00:00"), "London"), txn("t2", at("20:00:00"), "New York")
    late_london = txn("t3", at("03:00:00"), "London")

    assert feed(state, london, new_york, late_london) == []


def test_duplicate_transaction_alerts_once_and_leaves_state_unchanged() -> None:
    state = DictState()
    london, paris = txn("t1", at("10:00:00"), "London"), txn("t2", at("10:00:40"), "Paris")
    assert feed(state, london, paris) == [["t1", "t2"]]
    before = dict(state.values)

    assert feed(state, paris, london, paris) == []
    assert state.values == before


def test_replaying_a_whole_stream_alerts_nothing_new() -> None:
    state = DictState()
    stream = [
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:00:40"), "Paris"),
        txn("t3", at("10:10:00"), "London"),
    ]
    assert len(feed(state, *stream)) == 2
    assert feed(state, *stream) == []


def test_same_time_in_two_far_places_is_flagged_without_dividing_by_zero() -> None:
    history = CardHistory(DictState(), ttl=TTL)
    check_travel(txn("t1", at("10:00:00"), "London"), history, RULE)

    [alert] = check_travel(txn("t2", at("10:00:00"), "Paris"), history, RULE)

    assert alert.speed_kmh == pytest.approx(343.6 * 3600, rel=0.002)
    assert "at the same time (equal or skewed clocks, gap counted as 1 s)" in alert.reasons[0]


def test_transaction_timestamped_before_the_last_one_is_ordered_not_flagged_as_negative() -> None:
    state = DictState()
    paris_later, london_earlier = (
        txn("t1", at("10:00:40"), "Paris"),
        txn("t2", at("10:00:00"), "London"),
    )

    [[earlier, later]] = feed(state, paris_later, london_earlier)

    assert (earlier, later) == ("t2", "t1")


def test_every_state_write_carries_the_configured_ttl() -> None:
    state = DictState()
    feed(
        state,
        txn("t1", at("10:00:00"), "London"),
        txn("t2", at("10:00:40"), "Paris"),
        txn("t3", at("10:01:00"), "New York", "online"),
    )
    assert {key for key, _ in state.writes} == {"sightings", "seen:t1", "seen:t2", "seen:t3"}
    assert all(ttl == TTL for _, ttl in state.writes)


def test_only_the_latest_sightings_are_kept_and_every_seen_id_until_the_ttl() -> None:
    state = DictState()
    history = CardHistory(state, ttl=TTL)
    rule = TravelRule(keep_sightings=2)
    for minute in range(5):
        check_travel(txn(f"t{minute}", at(f"10:0{minute}:00"), "London"), history, rule)

    assert [s.txn_id for s in history.sightings()] == ["t3", "t4"]
    assert all(history.has_seen(f"t{m}") for m in range(5))


def test_alert_id_is_the_same_for_the_same_evidence_whatever_the_delivery_order() -> None:
    london, paris = txn("t1", at("10:00:00"), "London"), txn("t2", at("10:00:40"), "Paris")

    def alert_ids(*txns: Transaction) -> list[str]:
        history = CardHistory(DictState(), ttl=TTL)
        return [a.alert_id for tx in txns for a in check_travel(tx, history, RULE)]

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


VELOCITY = VelocityRule(max_count=5, window_ms=60_000, late_grace_ms=3_600_000)


def bursts(state: DictState, *deliveries: tuple[str, str]) -> list[list[str]]:
    """Deliver ``(txn_id, hh:mm:ss)`` in this order; the txn ids of each velocity alert."""
    ledger = VelocityLedger(state, ttl=TTL)
    return [
        alert.txn_ids
        for txn_id, when in deliveries
        if (alert := check_velocity(txn(txn_id, at(when), "London"), ledger, VELOCITY))
    ]


def test_six_transactions_in_a_minute_alert_once_with_the_six() -> None:
    state = DictState()
    times = ["10:00:00", "10:00:05", "10:00:10", "10:00:15", "10:00:20", "10:00:25", "10:00:30"]
    found = bursts(state, *[(f"r{i}", when) for i, when in enumerate(times, 1)])

    assert found == [["r1", "r2", "r3", "r4", "r5", "r6"]]
    assert [key for key, _ in state.writes] == ["velocity"] * len(times)
    assert {ttl for _, ttl in state.writes} == {TTL}


def test_a_burst_after_the_last_one_ended_alerts_again_and_five_never_do() -> None:
    state = DictState()
    first = [(f"a{i}", f"10:00:{10 * i:02d}") for i in range(6)]
    quiet = [("q1", "10:03:00"), ("q2", "10:03:30"), ("q3", "10:04:00")]
    second = [(f"b{i}", f"11:00:{5 * i:02d}") for i in range(6)]

    found = bursts(state, *first, *quiet, *second)

    assert found == [[a for a, _ in first], [b for b, _ in second]]
    assert bursts(DictState(), *first[:5]) == []


def test_a_late_transaction_completes_the_burst_it_belongs_to() -> None:
    state = DictState()
    on_time = [("t1", "10:00:00"), ("t2", "10:00:10"), ("t3", "10:00:20"),
               ("t4", "10:00:30"), ("t5", "10:00:50")]  # fmt: skip
    assert bursts(state, *on_time) == []

    [alert] = bursts(state, ("late", "10:00:05"))

    assert alert == ["t1", "late", "t2", "t3", "t4", "t5"]  # event-time order


def test_a_transaction_later_than_the_grace_is_not_counted() -> None:
    state = DictState()
    recent = [(f"t{i}", f"12:00:{10 * i:02d}") for i in range(5)]
    assert bursts(state, *recent, ("stale", "10:00:00")) == []
    stored, _ = VelocityLedger(state, ttl=TTL).load()
    assert "stale" not in {txn_id for _, txn_id in stored}


def test_the_alert_window_ends_at_the_transaction_that_completed_it() -> None:
    ledger = VelocityLedger(DictState(), ttl=TTL)
    alerts = [
        check_velocity(txn(f"r{i}", at(f"10:00:{5 * i:02d}"), "London"), ledger, VELOCITY)
        for i in range(6)
    ]
    alert = alerts[-1]
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
