"""The Iceberg sink on a real SQLite catalog and Parquet files, without a broker: replays
skipped by offsets, new columns, rows Arrow refuses, outages as backpressure."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from quixstreams.sinks import SinkBackpressureError

from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks import iceberg
from pipelines.common.sinks.iceberg import NAMESPACE, open_catalog
from pipelines.common.sinks.rows import LakeRow
from pipelines.lake.lake_pipeline import lake_schemas
from pipelines.lake.query import LakeMissing, open_lake
from pipelines.lake.settings import LakeSettings
from tests.lake.lakes import TOPIC, Lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def ids(lake: Lake) -> list[str]:
    return [row[0] for row in lake.sql("select alert_id from fraud_alerts order by alert_id").rows]


def test_a_replayed_checkpoint_writes_only_the_rows_the_table_lacks(lake: Lake) -> None:
    lake.add_alerts(range(10))
    lake.sink.flush()
    # the crash came before Kafka's commit: the same records again, and newer ones
    lake.add_alerts(range(15))
    lake.add_alerts(range(5), partition=1)
    lake.sink.flush()
    assert sorted(ids(lake)) == sorted([f"a{n}" for n in range(15)] + [f"a{n}" for n in range(5)])
    assert (lake.sink.written, lake.sink.skipped) == (20, 10)
    rows = lake.sql("select _kafka_partition, max(_kafka_offset) from fraud_alerts group by 1")
    assert sorted(rows.rows) == [(0, 14), (1, 4)]


def test_tables_are_partitioned_by_the_day_of_the_event(lake: Lake) -> None:
    lake.add_alerts(range(3))
    lake.sink.flush()
    data = lake.folder / NAMESPACE / "fraud_alerts" / "data"
    assert [path.name for path in data.iterdir()] == ["_day=2026-11-20"]


def test_a_new_field_becomes_a_column_earlier_rows_read_null(lake: Lake) -> None:
    lake.add_alerts(range(2))
    lake.sink.flush()
    lake.add_alerts(range(2, 4), region="EU")
    lake.sink.flush()
    answer = lake.sql("select alert_id, region from fraud_alerts order by alert_id")
    assert answer.rows == [("a0", None), ("a1", None), ("a2", "EU"), ("a3", "EU")]


def test_a_row_arrow_refuses_is_rejected_and_its_neighbours_written(lake: Lake) -> None:
    lake.add_alerts(range(2))
    lake.sink.add(LakeRow("fraud_alerts", {"alert_id": 5}, b"raw"), b"k", 0, [], TOPIC, 0, 2)
    lake.add_alerts(range(3, 4))
    lake.sink.flush()
    assert ids(lake) == ["a0", "a1", "a3"]
    [(row, reason)] = lake.rejected
    assert (row.offset, row.row.raw) == (2, b"raw")
    assert "ArrowTypeError" in reason or "ArrowInvalid" in reason


def test_a_column_another_writer_typed_otherwise_sends_the_rows_back_to_conversion(
    lake: Lake,
) -> None:
    table = open_catalog(lake.lake.location(lake.settings)).load_table((NAMESPACE, "fraud_alerts"))
    with table.update_schema() as update:
        update.union_by_name(pa.schema([pa.field("region", pa.int64())]))
    lake.add_alerts(range(2), region="EU")  # this process has not seen the other's column
    with pytest.raises(SinkBackpressureError):
        lake.sink.flush()
    assert lake.book.schema("fraud_alerts").field("region").type == pa.int64()


def test_an_unwritable_warehouse_is_backpressure_and_nothing_is_lost(lake: Lake) -> None:
    lake.add_alerts(range(2))
    lake.sink.flush()
    data = lake.folder / NAMESPACE / "fraud_alerts" / "data"
    moved = data.with_name("data-away")
    data.rename(moved)
    data.write_text("not a folder")  # the next data file cannot be written
    lake.add_alerts(range(2, 4))
    with pytest.raises(SinkBackpressureError):
        lake.sink.flush()
    data.unlink()
    moved.rename(data)
    lake.add_alerts(range(2, 4))  # Quix replays the checkpoint after the pause
    lake.sink.flush()
    assert ids(lake) == ["a0", "a1", "a2", "a3"]


def test_a_lake_that_was_never_written_says_so(tmp_path: Path) -> None:
    with pytest.raises(LakeMissing, match=r"no lake at .*streamwise run lake"):
        open_lake(StreamwiseSettings(data_dir=tmp_path), LakeSettings())


def test_old_snapshots_are_expired_and_the_offsets_still_hold(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(iceberg, "KEEP_SNAPSHOTS", 3)
    monkeypatch.setattr(iceberg, "EXPIRE_EVERY", 2)
    for n in range(8):
        lake.add_alerts(range(n, n + 1))
        lake.sink.flush()
    table = open_catalog(lake.lake.location(lake.settings)).load_table((NAMESPACE, "fraud_alerts"))
    assert len(table.metadata.snapshots) <= 3 + 1
    lake.add_alerts(range(8))  # everything replayed
    lake.sink.flush()
    assert ids(lake) == [f"a{n}" for n in range(8)]


def test_a_field_the_contract_adds_later_becomes_its_typed_column_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "lake"
    folder.mkdir()
    location = LakeSettings(dir=folder).location(StreamwiseSettings(data_dir=tmp_path))
    older = lake_schemas()["fraud_alerts"]
    older = older.remove(older.get_field_index("from"))  # as the contract was before `from`
    iceberg.ensure_tables(open_catalog(location), {"fraud_alerts": older})
    Lake(folder)  # starts the sink
    table = open_catalog(location).load_table((NAMESPACE, "fraud_alerts"))
    assert pa.types.is_struct(iceberg.plain_schema(table).field("from").type)
