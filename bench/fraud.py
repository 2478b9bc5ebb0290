"""bench/fraud: the fraud pipeline side by side with a bare Quix stateful app, same run.

Both read the same generated transactions from the same embedded Kafka with the same
partitions. Throughput: each drains a pre-loaded backlog (messages / seconds between
its first and last processed message, measured inside the app). Latency: each runs
while transactions arrive at a steady rate; produce -> output as seen by a consumer
(fraud: every alert, against its newest transaction; bare: one output per 20 inputs).

    python -m bench.fraud [--rate 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer

from bench.results import write_section
from pipelines.common.admin import ensure_topics
from pipelines.common.app import FAST_GROUP_CONFIG, make_app
from pipelines.common.clients import client_config, producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import TopicSpec, all_topics
from pipelines.devenv.broker import embedded_broker
from pipelines.fraud.generator import GeneratedStream, generate

BARE_OUTPUT = "bench-bare-out"
BARE_SAMPLE = 20  # the bare app emits one output per this many inputs (for latency)


class Meter:
    """Counts processed transactions and when the first and the last were done."""

    def __init__(self, topic: str) -> None:
        self.topic, self.count = topic, 0
        self.first = self.last = 0.0

    def __call__(self, topic: str, partition: int, offset: int) -> None:
        if topic != self.topic:
            return
        now = time.perf_counter()
        if self.count == 0:
            self.first = now
        self.count, self.last = self.count + 1, now
        if self.count == 1:
            print("first", flush=True)


def bare_worker(settings: StreamwiseSettings, meter: Meter, *, timeout: float) -> None:
    """The baseline: plain Quix, JSON in, one state get and set per message."""
    from quixstreams import Application  # noqa: PLC0415

    app = Application(
        broker_address=settings.broker,
        consumer_group=f"bench-bare-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        consumer_extra_config=dict(FAST_GROUP_CONFIG),
        state_dir=settings.data_dir / "bare",
        on_message_processed=meter,
        loglevel="WARNING",
    )
    topic = app.topic(settings.topic_prefix + "transactions")
    out = app.topic(settings.topic_prefix + BARE_OUTPUT)

    def count(value: dict[str, Any], state: Any) -> dict[str, Any]:
        state.set("seen", state.get("seen", 0) + 1)
        return value

    sdf = app.dataframe(topic).apply(count, stateful=True)
    sdf.filter(lambda v: zlib.crc32(v["txn_id"].encode()) % BARE_SAMPLE == 0).to_topic(out)
    app.run(timeout=timeout)


def fraud_worker(settings: StreamwiseSettings, meter: Meter, *, timeout: float) -> None:
    from pipelines.fraud.fraud_pipeline import build  # noqa: PLC0415
    from pipelines.fraud.settings import FraudSettings  # noqa: PLC0415

    papp = make_app("fraud", settings, on_message_processed=meter)
    build(papp, FraudSettings())
    papp.app.run(timeout=timeout)


def worker(kind: str, timeout: float) -> None:
    """Runs in a child process: one app, then its measurements as JSON on stdout."""
    settings = StreamwiseSettings()
    meter = Meter(settings.topic_prefix + "transactions")
    (bare_worker if kind == "bare" else fraud_worker)(settings, meter, timeout=timeout)
    seconds = meter.last - meter.first
    print(orjson.dumps({"messages": meter.count, "seconds": seconds}).decode(), flush=True)


def spawn_worker(kind: str, settings: StreamwiseSettings, timeout: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "STREAMWISE_BROKER": str(settings.broker),
        "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
        "STREAMWISE_DATA_DIR": str(settings.data_dir),
        "STREAMWISE_PARTITIONS": str(settings.partitions),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench.fraud", "--worker", kind, "--timeout", str(timeout)],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def deployment(broker: str, root: Path, name: str) -> StreamwiseSettings:
    settings = StreamwiseSettings(
        broker=broker, data_dir=root / name, topic_prefix=f"{name}.", partitions=3
    )
    specs = [*all_topics(settings.topic_prefix), TopicSpec(settings.topic_prefix + BARE_OUTPUT,
                                                           None, None)]  # fmt: skip
    ensure_topics(client_config(settings), specs, partitions=settings.partitions)
    return settings


def load(settings: StreamwiseSettings, stream: GeneratedStream) -> None:
    producer = Producer({**producer_config(settings), "linger.ms": 20})
    for customer in stream.customers:
        producer.produce(settings.topic_prefix + "customers", key=customer.card_id.encode(),
                         value=encode_json(customer), timestamp=1)  # fmt: skip
    for txn in stream.transactions:
        _produce(producer, settings.topic_prefix + "transactions", txn.card_id, encode_json(txn))
    producer.flush(60)


def _produce(producer: Producer, topic: str, key: str, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, key=key.encode(), value=value)
            return
        except BufferError:
            producer.poll(0.05)


def throughput(kind: str, settings: StreamwiseSettings, stream: GeneratedStream) -> dict[str, Any]:
    load(settings, stream)
    child = spawn_worker(kind, settings, timeout=5)
    out, _ = child.communicate(timeout=900)
    result: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    result["per_s"] = result["messages"] / result["seconds"]
    return result


def latency(
    kind: str, settings: StreamwiseSettings, stream: GeneratedStream, rate: float, seconds: float
) -> dict[str, Any]:
    """Steady ``rate`` transactions/s for ``seconds``; produce -> output latencies in ms."""
    producer = Producer({**producer_config(settings), "linger.ms": 0})
    for customer in stream.customers:
        producer.produce(settings.topic_prefix + "customers", key=customer.card_id.encode(),
                         value=encode_json(customer), timestamp=1)  # fmt: skip
    producer.flush(30)
    child = spawn_worker(kind, settings, timeout=600)
    assert child.stdout is not None
    warm = stream.transactions[0]
    _produce(producer, settings.topic_prefix + "transactions", warm.card_id, encode_json(warm))
    producer.flush(10)
    child.stdout.readline()  # "first": joined and consuming

    sent: dict[str, float] = {}
    received: list[tuple[float, dict[str, Any]]] = []
    output = "fraud-alerts" if kind == "fraud" else BARE_OUTPUT
    done = threading.Event()
    reader = threading.Thread(target=_collect, args=(settings, output, received, done))
    reader.start()
    txns = stream.transactions[1 : 1 + int(rate * seconds)]
    start = time.perf_counter()
    for index, txn in enumerate(txns):
        due = start + index / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.001))
        sent.setdefault(txn.txn_id, time.time())
        _produce(producer, settings.topic_prefix + "transactions", txn.card_id, encode_json(txn))
        producer.poll(0)
    producer.flush(30)
    achieved = len(txns) / (time.perf_counter() - start)
    time.sleep(3)  # let the last outputs arrive before the reader stops
    done.set()
    reader.join()
    child.send_signal(signal.SIGTERM)
    child.wait(60)
    waits = sorted(
        (at - max(sent[t] for t in value.get("txn_ids", [value.get("txn_id")]) if t in sent)) * 1000
        for at, value in received
        if any(t in sent for t in value.get("txn_ids", [value.get("txn_id")]))
    )
    return {
        "rate": achieved,
        "outputs": len(waits),
        "p50": statistics.median(waits) if waits else float("nan"),
        "p99": waits[min(len(waits) - 1, int(len(waits) * 0.99))] if waits else float("nan"),
    }


def _collect(
    settings: StreamwiseSettings, topic: str, into: list[tuple[float, Any]], done: threading.Event
) -> None:
    consumer = Consumer({**client_config(settings), "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([settings.topic_prefix + topic])
    while not done.is_set():
        message = consumer.poll(0.05)
        if message is not None and message.error() is None:
            into.append((time.time(), orjson.loads(message.value())))
    consumer.close()


def main(rate: float = 1000.0, seconds: float = 20.0) -> None:
    stream = generate(n_cards=4000, days=3, seed=3)
    with tempfile.TemporaryDirectory() as tmp, embedded_broker("kafka") as broker:
        root = Path(tmp)
        runs = {
            kind: throughput(kind, deployment(broker.address, root, f"tp-{kind}"), stream)
            for kind in ("bare", "fraud")
        }
        lat = {
            kind: latency(
                kind, deployment(broker.address, root, f"lat-{kind}"), stream, rate, seconds
            )
            for kind in ("bare", "fraud")
        }
    bare, fraud, lat_bare, lat_fraud = runs["bare"], runs["fraud"], lat["bare"], lat["fraud"]
    ratio = fraud["per_s"] / bare["per_s"]
    body = f"""
Same embedded Kafka 4.1.1 (on the same 2 cores), same {len(stream.transactions)} generated
transactions ({len(stream.customers)} cards, late and duplicated deliveries included), 3
partitions. Baseline: a bare Quix Streams app, plain JSON, one state get and set per message.

| | bare Quix stateful app | fraud pipeline | ratio |
|---|---|---|---|
| throughput, backlog (msg/s) | {bare["per_s"]:,.0f} | {fraud["per_s"]:,.0f} | **{ratio:.2f}** |
| steady load achieved (msg/s) | {lat_bare["rate"]:,.0f} | {lat_fraud["rate"]:,.0f} | |
| produce -> output p50 (ms) | {lat_bare["p50"]:.1f} | {lat_fraud["p50"]:.1f} | |
| produce -> output p99 (ms) | {lat_bare["p99"]:.1f} | {lat_fraud["p99"]:.1f} | |
| outputs measured | {lat_bare["outputs"]} | {lat_fraud["outputs"]} | |

Goals: throughput ratio at least 0.8 ({"met" if ratio >= 0.8 else "NOT met"}); p99 under
100 ms at {rate:.0f} tx/s ({"met" if lat_fraud["p99"] < 100 else "NOT met"}).
The fraud pipeline validates every event against the contract (pydantic), joins the
customer profile (as-of join, time-aligned consumption of two topics), keeps each card's
latest sightings and recent transactions in one RocksDB record (one get and one set per
transaction, as the bare app) and dead-letters poison; the bare app does none of the rest,
at {1e6 / bare["per_s"]:.0f} us per message.
"""
    write_section("fraud", body)
    print(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", choices=["bare", "fraud"])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.timeout)
    else:
        main(args.rate, args.seconds)
