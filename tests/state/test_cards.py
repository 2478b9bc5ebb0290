from __future__ import annotations

from datetime import UTC, datetime, timedelta

from state.cards import CardRecord, CardStore, Sighting
from tests.dict_state import DictState

TTL = timedelta(days=30)
LONDON = Sighting("t1", 1_795_860_000_000, 51.5074, -0.1278, "GB", "London")
PARIS = Sighting("t2", 1_795_860_040_000, 48.8566, 2.3522, "FR", "Paris")


def test_a_card_is_one_key_written_once_with_the_ttl_and_read_back_as_it_was(
    dict_state: DictState,
) -> None:
    state = dict_state
    record = CardRecord((LONDON, PARIS), ((LONDON.ts_ms, "t1"), (PARIS.ts_ms, "t2")), None)

    CardStore(state, ttl=TTL).save(record)

    assert state.writes == [("card", TTL)]
    assert CardStore(state, ttl=TTL).load() == record


def test_a_new_card_has_an_empty_record_and_nothing_is_written_by_reading_it(
    dict_state: DictState,
) -> None:
    state = dict_state
    assert CardStore(state, ttl=TTL).load() == CardRecord()
    assert state.writes == []


def test_a_record_of_the_earlier_two_key_layout_is_read_and_its_keys_dropped(
    dict_state: DictState,
) -> None:
    """Cards written before the single record (ISO times, ``sightings`` + ``velocity``)."""
    state = dict_state
    when = datetime.fromtimestamp(LONDON.ts_ms / 1000, UTC).isoformat()
    state.set("sightings", [["t1", when, 51.5074, -0.1278, "GB", "London"]])
    state.set("velocity", [[[LONDON.ts_ms, "t1"]], 1_795_859_000_000])

    record = CardStore(state, ttl=TTL).load()

    assert record == CardRecord((LONDON,), ((LONDON.ts_ms, "t1"),), 1_795_859_000_000)
    assert record.has_seen("t1")
    assert not state.exists("sightings")
    assert not state.exists("velocity")


def test_seen_ids_are_those_of_recent_transactions_and_kept_sightings() -> None:
    record = CardRecord((LONDON,), ((PARIS.ts_ms, "online-1"),), None)
    assert record.has_seen("t1")
    assert record.has_seen("online-1")
    assert not record.has_seen("t2")
