"""bench/lake_library: which library writes the lake, measured: Iceberg (pyiceberg, SQL catalog
on SQLite, our ``IcebergSink``) against Quix Streams' own ``FileSink`` with Parquet.

Both get the same converted rows of generated fraud alerts (``bench.lake``), in batches
of 10,000 as checkpoints would hand them over, in this process (no Kafka: the sinks
alone). Measured: rows/s; rows after a crash replays a checkpoint with other batch
boundaries (no duplicates is the goal); column types across files when one batch lacks
a field's values; and what Iceberg commits cost over many small appends, with pyiceberg's
defaults and with the table properties and snapshot expiry ``IcebergSink`` uses.

    python -m bench.lake_library [--rows 100000] [--commits 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from quixstreams.sinks.base.batch import SinkBatch
from quixstreams.sinks.community.file.local import LocalFileSink

from bench.lake import bench_alerts
from bench.results import write_section
from pipelines.common.events import FraudAlert
from pipelines.common.serialization import decode_event
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.iceberg import NAMESPACE, IcebergSink, open_catalog
from pipelines.common.sinks.rows import DAY, LakeRow
from pipelines.lake.lake_pipeline import Converter, lake_schemas
from pipelines.lake.settings import LakeSettings

BATCH = 10_000
TOPIC = "bench.fraud-alerts"


def converted(n: int) -> list[dict[str, Any]]:
    """The rows the lake's conversion step makes of ``n`` generated alerts."""
    book = SchemaBook(lake_schemas())
    convert = Converter("fraud_alerts", book).convert
    return [convert(decode_event(FraudAlert, raw), b"", 0, []).values
            for _, raw in bench_alerts(n)]  # fmt: skip


def iceberg_sink(folder: Path) -> IcebergSink:
    folder.mkdir(parents=True)
    settings, lake = StreamwiseSettings(data_dir=folder), LakeSettings(dir=folder)
    schemas = lake_schemas()
    sink = IcebergSink(lake.location(settings), SchemaBook(schemas), schemas, lambda r, w: None)
    sink.setup()
    return sink


def write_iceberg(sink: IcebergSink, rows: list[dict[str, Any]], offsets: range) -> None:
    for start in range(offsets.start, offsets.stop, BATCH):
        for offset in range(start, min(start + BATCH, offsets.stop)):
            sink.add(LakeRow("fraud_alerts", rows[offset]), b"", 0, [], TOPIC, 0, offset)
        sink.flush()


def write_filesink(sink: LocalFileSink, rows: list[dict[str, Any]], offsets: range,
                   batch: int = BATCH) -> None:  # fmt: skip
    for start in range(offsets.start, offsets.stop, batch):
        chunk = SinkBatch(TOPIC, 0)
        for offset in range(start, min(start + batch, offsets.stop)):
            chunk.append(rows[offset], b"k", 0, [], offset)
        sink.write(chunk)


def count(files_sql: str) -> tuple[int, int]:
    """Rows and distinct alert ids DuckDB reads from ``files_sql``."""
    source = f"read_parquet({files_sql}, union_by_name=true)"
    [(rows, ids)] = duckdb.sql(
        f"select count(*), count(distinct alert_id) from {source}"
    ).fetchall()
    return int(rows), int(ids)


def iceberg_files(folder: Path) -> str:
    settings = StreamwiseSettings(data_dir=folder)
    table = open_catalog(LakeSettings(dir=folder).location(settings)).load_table(
        (NAMESPACE, "fraud_alerts"))  # fmt: skip
    paths = [t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()]
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def null_typed_files(folder: Path) -> tuple[int, int]:
    """Parquet files under ``folder`` with a column of Arrow type null, and all files."""
    files = sorted(folder.rglob("*.parquet"))
    nulls = sum(any(pa.types.is_null(f.type) for f in pq.read_schema(p)) for p in files)
    return nulls, len(files)


def compare(rows: list[dict[str, Any]], root: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    n = len(rows)
    # rows/s, then a crash after the last batch's write: replayed from its start in halves
    sink = iceberg_sink(root / "iceberg")
    started = time.perf_counter()
    write_iceberg(sink, rows, range(n))
    rate = n / (time.perf_counter() - started)
    write_iceberg(sink, rows, range(n - BATCH, n - BATCH // 2))
    write_iceberg(sink, rows, range(n - BATCH // 2, n))
    results["iceberg"] = {"rate": rate, "after_replay": count(iceberg_files(root / "iceberg"))}

    files = LocalFileSink(directory=str(root / "filesink"), format="parquet")
    started = time.perf_counter()
    write_filesink(files, rows, range(n))
    rate = n / (time.perf_counter() - started)
    write_filesink(files, rows, range(n - BATCH, n), batch=BATCH // 2)
    glob = f"'{root / 'filesink'}/**/*.parquet'"
    results["filesink"] = {"rate": rate, "after_replay": count(glob)}

    # a batch of velocity alerts only (no places, no distances), then a mixed one
    velocity = [row for row in rows if row["rule"] == "velocity"][:BATCH]
    drift = LocalFileSink(directory=str(root / "drift"), format="parquet")
    for first, batch in ((0, velocity), (BATCH, rows[:BATCH])):
        chunk = SinkBatch(TOPIC, 0)
        for offset, row in enumerate(batch, start=first):
            chunk.append(row, b"k", 0, [], offset)
        drift.write(chunk)
    results["filesink"]["null_typed"] = null_typed_files(root / "drift")
    results["iceberg"]["null_typed"] = null_typed_files(root / "iceberg")
    return results


def commit_growth(root: Path, commits: int, *, tuned: bool) -> dict[str, float]:
    """Milliseconds per append of 50 rows, first and last 100 of ``commits``, and the
    megabytes the table takes: pyiceberg's defaults, or ``IcebergSink`` as it ships."""
    rows = converted(50)
    folder = root / ("tuned" if tuned else "defaults")
    times = []
    if tuned:
        sink = iceberg_sink(folder)
        for k in range(commits):
            started = time.perf_counter()
            for i, row in enumerate(rows):
                sink.add(LakeRow("fraud_alerts", row), b"", 0, [], TOPIC, 0, k * 50 + i)
            sink.flush()
            times.append(time.perf_counter() - started)
    else:
        folder.mkdir(parents=True)
        catalog = SqlCatalog("bench", uri=f"sqlite:///{folder}/catalog.db",
                             warehouse=folder.as_uri())  # fmt: skip
        catalog.create_namespace(NAMESPACE)
        schema = lake_schemas()["fraud_alerts"]
        catalog.create_table((NAMESPACE, "fraud_alerts"), schema=schema)
        for k in range(commits):
            started = time.perf_counter()
            table = catalog.load_table((NAMESPACE, "fraud_alerts"))
            values = [{**row, "_kafka_partition": 0, "_kafka_offset": k * 50 + i}
                      for i, row in enumerate(rows)]  # fmt: skip
            table.append(pa.Table.from_pylist(values, schema=table.schema().as_arrow()),
                         snapshot_properties={"offsets": str(k)})  # fmt: skip
            times.append(time.perf_counter() - started)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"first": statistics.mean(times[:100]) * 1000, "last": statistics.mean(times[-100:])
            * 1000, "mb": size / 1e6}  # fmt: skip


def main(n: int, commits: int) -> None:
    rows = converted(n)
    assert all(isinstance(row[DAY], date) for row in rows)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = compare(rows, root)
        defaults = commit_growth(root, commits, tuned=False)
        tuned = commit_growth(root, commits, tuned=True)
    ice, fs = results["iceberg"], results["filesink"]

    def pair(values: tuple[int, int], sep: str) -> str:
        return f"{values[0]:,}{sep}{values[1]:,}"

    tuned_name = "`IcebergSink` (manifest merge, old metadata deleted, snapshots expired)"
    body = f"""
{n:,} converted fraud-alert rows (`bench.lake`'s generator), batches of {BATCH:,} as
checkpoints hand them over, in one process: the sinks alone, no Kafka.

| | Iceberg (`IcebergSink`) | Quix `FileSink`, Parquet |
|---|---:|---:|
| rows/s | {ice["rate"]:,.0f} | {fs["rate"]:,.0f} |
| rows, distinct ids after the last batch is replayed in halves | \
{pair(ice["after_replay"], ", ")} | {pair(fs["after_replay"], ", ")} |
| files with a column of type NULL (after a batch without a field's values) | \
{pair(ice["null_typed"], " of ")} | {pair(fs["null_typed"], " of ")} |

Appends of 50 rows, {commits} times (ms per append, first and last 100; size on disk):

| | first 100 | last 100 | MB |
|---|---:|---:|---:|
| pyiceberg defaults | {defaults["first"]:.0f} | {defaults["last"]:.0f} | {defaults["mb"]:.1f} |
| {tuned_name} | {tuned["first"]:.0f} | {tuned["last"]:.0f} | {tuned["mb"]:.1f} |

Both avoid duplicates on a replay (`FileSink` names a file by its batch's first offset,
and a replay starts at the same offset: it overwrites). Iceberg is chosen for the rest:
each append is an atomic snapshot (a `FileSink` file is written in place, where a query
may read it half-written), the table has one schema (a `FileSink` file has its batch's
types: a field null throughout a batch is typed NULL there), partitions by day, and a
catalog Spark and Trino open. Its cost is per commit, kept flat by the table settings.
"""
    write_section("lake-library", body)
    print(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=600)
    args = parser.parse_args()
    main(args.rows, args.commits)
