"""Dedup by source offsets: which replayed records a table already holds (no catalog)."""

from __future__ import annotations

import pytest

from pipelines.common.sinks.offsets import (
    OFFSETS_PROPERTY,
    SourceOffsets,
    latest_offsets,
    unwritten,
)


def test_a_replay_skips_exactly_the_records_the_table_holds() -> None:
    written = SourceOffsets().advanced([("alerts", 0, 4), ("alerts", 1, 9)])
    replay = [
        ("alerts", 0, 3),
        ("alerts", 0, 4),
        ("alerts", 0, 5),
        ("alerts", 1, 9),
        ("alerts", 1, 10),
    ]
    assert unwritten(replay, written) == [2, 4]


def test_offsets_of_another_topic_or_partition_hold_nothing() -> None:
    written = SourceOffsets().advanced([("alerts", 0, 100)])
    assert unwritten([("p.alerts", 0, 1), ("alerts", 2, 0)], written) == [0, 1]


def test_offsets_never_move_backwards() -> None:
    written = SourceOffsets().advanced([("alerts", 0, 7)]).advanced([("alerts", 0, 3)])
    assert written.holds("alerts", 0, 7)


def test_offsets_survive_their_snapshot_property() -> None:
    written = SourceOffsets().advanced([("alerts", 0, 4), ("answers", 2, 1)])
    assert SourceOffsets.decode(written.encode()) == written


def test_a_property_that_is_not_ours_is_refused() -> None:
    with pytest.raises(ValueError, match=OFFSETS_PROPERTY):
        SourceOffsets.decode('["not", "a", "map"]')


def test_the_newest_snapshot_that_says_tells_what_the_table_holds() -> None:
    ours = {OFFSETS_PROPERTY: SourceOffsets().advanced([("alerts", 0, 4)]).encode()}
    older = {OFFSETS_PROPERTY: SourceOffsets().advanced([("alerts", 0, 1)]).encode()}
    compaction: dict[str, str] = {"operation": "replace"}
    assert latest_offsets([compaction, ours, older]).holds("alerts", 0, 4)
    assert latest_offsets([None, {}]) == SourceOffsets()
