"""bench/lake: rows/s the lake pipeline writes, beside a raw pyarrow Parquet write, same run.

The same generated fraud alerts (two thirds impossible travel with their places, a third
velocity) go to ``fraud-alerts`` on an embedded Kafka (3 partitions). ``streamwise run
lake`` (its default settings: an append every 60 s or 50,000 records) drains them in a
child process: rows / seconds from its first message to the end of its last append.
Baseline: the same records' bytes, ``orjson.loads``, ``pa.Table.from_pylist`` and
``pq.write_table`` in batches of 50,000 (no validation, types as JSON has them,
timestamps stay strings). Then where a lake row's time goes, stage by stage, in process.
The library choice (Iceberg against Quix's FileSink) is ``bench/lake_library``.

    python -m bench.lake [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import Producer

from bench.results import write_section
from pipelines.common.admin import ensure_topics
from pipelines.common.app import make_app
from pipelines.common.clients import client_config, producer_config
from pipelines.common.events import FraudAlert
from pipelines.common.serialization import decode_event
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.iceberg import NAMESPACE, IcebergSink, open_catalog
from pipelines.common.topics import all_topics
from pipelines.devenv.broker import embedded_broker
from pipelines.lake.lake_pipeline import Converter, build, lake_schemas
from pipelines.lake.settings import LakeSettings

BATCH = 50_000
START = datetime(2026, 11, 16, tzinfo=UTC)
PLACES = [(51.5074, -0.1278, "GB"), (48.8566, 2.3522, "FR"), (40.7128, -74.006, "US"),
          (35.6762, 139.6503, "JP"), (-33.8688, 151.2093, "AU")]  # fmt: skip


def bench_alerts(n: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """``n`` alerts as (key, JSON bytes), one every 7 s of event time from ``START``."""
    rng = random.Random(seed)
    alerts = []
    for i in range(n):
        ts = START + timedelta(seconds=7 * i)
        card = f"card-{rng.randrange(4000):04d}"
        alert: dict[str, Any] = {
            "alert_id": f"al-{i:08d}", "card_id": card, "ts": ts.isoformat(),
            "txn_ids": [f"tx-{i:08d}a", f"tx-{i:08d}b"],
        }  # fmt: skip
        if i % 3:
            (lat1, lon1, c1), (lat2, lon2, c2) = rng.sample(PLACES, 2)
            before = (ts - timedelta(minutes=rng.randrange(20, 300))).isoformat()
            alert |= {
                "rule": "impossible_travel", "severity": rng.choice(["medium", "high"]),
                "reasons": [f"{c1} to {c2} at an impossible speed"],
                "distance_km": rng.uniform(300, 15000), "speed_kmh": rng.uniform(1000, 9000),
                "from": {"lat": lat1, "lon": lon1, "country": c1, "ts": before},
                "to": {"lat": lat2, "lon": lon2, "country": c2, "ts": ts.isoformat()},
            }  # fmt: skip
        else:
            alert |= {"rule": "velocity", "severity": "low",
                      "reasons": [f"{rng.randrange(6, 12)} transactions in 60 s"]}  # fmt: skip
        alerts.append((card, orjson.dumps(alert)))
    return alerts


def raw_parquet(alerts: list[tuple[str, bytes]], folder: Path) -> float:
    """The baseline's rows per second: JSON -> Arrow -> Parquet, nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for n, i in enumerate(range(0, len(alerts), BATCH)):
        records = [orjson.loads(raw) for _, raw in alerts[i : i + BATCH]]
        pq.write_table(pa.Table.from_pylist(records), folder / f"part-{n:05d}.parquet")
    return len(alerts) / (time.perf_counter() - started)


def worker() -> None:
    """In a child process: ``run lake`` until idle, then its rows and seconds as JSON.

    Seconds: from the first message to the last, plus the appends after the last (the
    final one waits for the idle timeout to stop the app, which is not the lake's time).
    """
    settings, lake = StreamwiseSettings(), load_settings(LakeSettings)
    seen_at: list[float] = []

    def seen(topic: str, partition: int, offset: int) -> None:
        now = time.perf_counter()
        seen_at[1:] = [now]
        if len(seen_at) == 1:
            seen_at.insert(0, now)

    papp = make_app("lake", settings, commit_interval_s=lake.commit_interval_s,
                    commit_every=lake.commit_every, on_message_processed=seen)  # fmt: skip
    sink = build(papp, lake)
    flush, appends = sink.flush, []

    def timed_flush() -> None:
        started = time.perf_counter()
        flush()
        appends.append((started, time.perf_counter()))

    sink.flush = timed_flush  # type: ignore[method-assign]
    papp.app.run(timeout=5.0, collect=False)
    first, last = seen_at[0], seen_at[-1]
    after = sum(end - start for start, end in appends if start >= last)
    print(orjson.dumps({"rows": sink.written, "seconds": last - first + after}).decode())


def pipeline_rate(broker: str, root: Path, alerts: list[tuple[str, bytes]]) -> dict[str, Any]:
    settings = StreamwiseSettings(broker=broker, data_dir=root / "lake-run",
                                  topic_prefix="bench.", partitions=3)  # fmt: skip
    ensure_topics(client_config(settings), all_topics(settings.topic_prefix), partitions=3)
    producer = Producer({**producer_config(settings), "linger.ms": 20})
    for key, raw in alerts:
        while True:
            try:
                producer.produce("bench.fraud-alerts", key=key.encode(), value=raw)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    env = {**os.environ, "STREAMWISE_BROKER": broker, "STREAMWISE_TOPIC_PREFIX": "bench.",
           "STREAMWISE_DATA_DIR": str(settings.data_dir), "STREAMWISE_PARTITIONS": "3"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bench.lake", "--worker"], env=env,
                          capture_output=True, text=True, check=True, timeout=1800)  # fmt: skip
    result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    result["per_s"] = result["rows"] / result["seconds"]
    table = open_catalog(LakeSettings().location(settings)).load_table((NAMESPACE, "fraud_alerts"))
    result["files"] = len(list(table.scan().plan_files()))
    return result


def stage_costs(alerts: list[tuple[str, bytes]], folder: Path) -> dict[str, float]:
    """Microseconds per row of each step a lake row takes, in this process."""
    folder.mkdir(parents=True, exist_ok=True)
    settings, lake = StreamwiseSettings(data_dir=folder), LakeSettings(dir=folder)
    schemas = lake_schemas()
    book = SchemaBook(schemas)
    sink = IcebergSink(lake.location(settings), book, schemas, lambda row, reason: None)
    sink.setup()
    convert = Converter("fraud_alerts", book).convert
    costs: dict[str, float] = dict.fromkeys(("decode", "convert", "sink"), 0.0)
    for i in range(0, len(alerts), BATCH):
        started = time.perf_counter()
        events = [decode_event(FraudAlert, raw) for _, raw in alerts[i : i + BATCH]]
        decoded = time.perf_counter()
        rows = [convert(event, b"", 0, []) for event in events]
        converted = time.perf_counter()
        for offset, row in enumerate(rows, start=i):
            sink.add(row, b"", 0, [], "bench.fraud-alerts", 0, offset)
        sink.flush()
        costs["decode"] += decoded - started
        costs["convert"] += converted - decoded
        costs["sink"] += time.perf_counter() - converted
    return {step: seconds / len(alerts) * 1e6 for step, seconds in costs.items()}


def main(rows: int) -> None:
    alerts = bench_alerts(rows)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw_rate = raw_parquet(alerts, root / "raw")
        costs = stage_costs(alerts, root / "stages")
        with embedded_broker("kafka") as broker:
            lake = pipeline_rate(broker.address, root, alerts)
    ratio = lake["per_s"] / raw_rate
    days = len({orjson.loads(raw)["ts"][:10] for _, raw in alerts})
    body = f"""
{rows:,} generated fraud alerts (two thirds impossible travel with both places, a third
velocity; {days} day{"s" if days != 1 else ""} of event time), 3 partitions of
`fraud-alerts` on an embedded Kafka 4.1.1, on the same 2 cores.

| | raw pyarrow Parquet write | `streamwise run lake` | ratio |
|---|---:|---:|---:|
| rows/s | {raw_rate:,.0f} | {lake["per_s"]:,.0f} | **{ratio:.2f}** |
| rows written | {rows:,} | {lake["rows"]:,} | |
| data files | {-(-rows // BATCH)} | {lake["files"]} (one per append and day) | |

The baseline turns each record's bytes into a dict and writes them 50,000 at a time: no
Kafka, no validation, timestamps left as strings, no partitions, no commit. The lake
pipeline (default settings: an append every 60 s or 50,000 records) consumes from Kafka,
validates every record against the contract (pydantic), types it (timestamps, structs,
lists), and appends it to the day's partition in an Iceberg commit that also records the
source offsets. Where a lake row's time goes, in process (us per row): decode and validate
{costs["decode"]:.1f}, convert to a row {costs["convert"]:.1f}, Arrow and Iceberg append
{costs["sink"]:.1f}; the rest of the pipeline's time is Kafka and the Quix loop.
"""
    write_section("lake", body)
    print(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker()
    else:
        main(args.rows)
