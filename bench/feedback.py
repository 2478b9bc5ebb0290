"""bench/feedback: the feedback pipeline side by side with its analyzer and its encoder.

Same run, same process, same model, same texts (unique, so the cache never answers):

* raw encode: the plain encoder's batched ``embed`` of the texts (batches of 32), the
  physical limit: one encoder pass per item is the floor of the work;
* batched: ``analyzer.analyze_many`` on batches of 32, the analyzer's own best (the
  baseline the pipeline's micro-batching is measured against);
* one at a time: ``analyzer.analyze(text)`` in a loop, as the pipeline called it before
  it batched;
* pipeline: the full app (repartition, cache lookups, schema check, Chroma upserts,
  windows and alerts) draining a pre-loaded backlog on the embedded Kafka. Items/s is
  measured from the wall-clock time the app processed its first message to the last
  enriched output's timestamp (set when it is produced), so consumer-group start-up is
  left out. (Not between the first and last outputs: a batched backlog analyzes most
  items before the first answer is read back, so its outputs come in a burst);
* latency: the pipeline again on a fresh deployment, fed at a steady rate below its
  capacity; per item, enriched output time minus the input's produce time.

Afterwards the sentiment-quality benchmark runs (``bench.feedback_quality``).

    python -m bench.feedback [--items 400] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import torch
from confluent_kafka import Consumer, Producer

from bench import feedback_quality
from bench.results import per_second_in_batches, percentile, write_section
from models import Embedder
from pipelines.common import backends
from pipelines.common.clients import client_config, producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.text.pii import mask_pii
from pipelines.devenv.broker import embedded_broker
from pipelines.feedback.analyzers.base import Analyzer
from pipelines.feedback.analyzers.factory import make_analyzer, pipeline_embedder
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.generator import generate
from pipelines.feedback.settings import FeedbackSettings
from pipelines.feedback.sinks import FeedbackVectorSink

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def deployment(broker: str, root: Path, name: str) -> StreamwiseSettings:
    """A fresh deployment (data dir, topics) sharing one model cache with the others, as
    pipelines on one host do: each would otherwise build the encoders' ONNX graphs."""
    return StreamwiseSettings(
        broker=broker, data_dir=root / name, topic_prefix=f"{name}-{uuid.uuid4().hex[:6]}.",
        partitions=3, model_cache=root / "models",
    )  # fmt: skip


BATCH = 32


def texts_of(items: list[dict[str, Any]]) -> list[str]:
    return [mask_pii(item["text"]).strip() for item in items]


def batched(analyzer: Analyzer, items: list[dict[str, Any]]) -> float:
    """Items/s of ``analyze_many`` over the texts in batches of ``BATCH``."""
    return per_second_in_batches(analyzer.analyze_many, texts_of(items), BATCH)


def raw_encode(embedder: Embedder, items: list[dict[str, Any]]) -> float:
    """Texts/s of the plain encoder alone, batched: the limit of one pass per item."""
    return per_second_in_batches(embedder.embed, texts_of(items), BATCH)


def direct(analyzer: Analyzer, items: list[dict[str, Any]]) -> dict[str, float]:
    seconds = []
    for item in items:
        started = time.perf_counter()
        analyzer.analyze(mask_pii(item["text"]).strip())
        seconds.append(time.perf_counter() - started)
    return {
        "items_per_s": len(items) / sum(seconds),
        "p50_ms": percentile(seconds, 0.5) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
    }


def run_pipeline(
    settings: StreamwiseSettings,
    analyzer: Analyzer,
    items: list[dict[str, Any]],
    rate: float | None,
) -> float:
    """Run the app until idle; ``rate`` None: pre-load everything, else feed at ``rate``/s.

    Returns the wall-clock time (ms since the epoch) of its first processed message.
    """
    feedback = FeedbackSettings()
    first_processed: list[float] = []

    def processed(_topic: str, _partition: int, _offset: int) -> None:
        if not first_processed:
            first_processed.append(time.time() * 1000)

    papp = make_feedback_app(settings, feedback, on_message_processed=processed)
    sink = FeedbackVectorSink(
        lambda: backends.vector_collection(settings, feedback.collection),
        backends.embedder(settings),
    )
    build(papp, feedback, analyzer, sink)
    producer = Producer({**producer_config(settings), "linger.ms": 5})
    topic = settings.topic_prefix + "feedback"

    def feed() -> None:
        started = time.perf_counter()
        for i, item in enumerate(items):
            if rate is not None:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            producer.produce(topic, key=item["feedback_id"].encode(), value=encode_json(item))
            producer.poll(0)
        producer.flush(30)

    if rate is None:
        feed()
        papp.app.run(timeout=6)
    else:
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        papp.app.run(timeout=8)
        feeder.join()
    return first_processed[0]


def timestamps(settings: StreamwiseSettings, topic: str, count: int) -> dict[str, int]:
    """Kafka timestamp (ms) per feedback id, read back with a consumer."""
    consumer = Consumer({**client_config(settings), "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([settings.topic_prefix + topic])
    found: dict[str, int] = {}
    deadline = time.monotonic() + 60
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            found[message.key().decode()] = message.timestamp()[1]
    finally:
        consumer.close()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="feedback pipeline vs its analyzer, same run")
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv or [])

    base = StreamwiseSettings()
    feedback = FeedbackSettings()
    analyzer = make_analyzer(base, feedback)
    encoder = pipeline_embedder(base, feedback)
    items = list(generate(args.items, start=START, spacing=timedelta(seconds=1), seed=11,
                          unique=True))  # fmt: skip
    analyzer.analyze("warm-up: load the model and its caches")
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp, embedded_broker("kafka") as broker:
        root = Path(tmp)
        # Alternate the two a few times: other work on the machine drifts, and pairs
        # measured back to back see about the same load.
        runs, rates, enriched, batch_rates, raw_rates = [], [], [], [], []
        for round_ in range(args.rounds):
            raw_rates.append(raw_encode(encoder, items))
            batch_rates.append(batched(analyzer, items))
            runs.append(direct(analyzer, items))
            backlog = deployment(broker.address, root, f"fb-tp{round_}")
            started_ms = run_pipeline(backlog, analyzer, items, rate=None)
            produced = timestamps(backlog, "feedback-enriched", len(items))
            rates.append(len(produced) / ((max(produced.values()) - started_ms) / 1000))
            enriched.append(len(produced))
        alone = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        pipeline_rate = statistics.median(rates)
        batch_rate, raw_rate = statistics.median(batch_rates), statistics.median(raw_rates)
        ratios = [p / b for p, b in zip(rates, batch_rates, strict=True)]

        rate = 0.5 * pipeline_rate
        steady = list(generate(int(rate * args.seconds), start=START, spacing=timedelta(
            seconds=1), seed=12, unique=True))  # fmt: skip
        latency_settings = deployment(broker.address, root, "fb-lat")
        run_pipeline(latency_settings, analyzer, steady, rate=rate)
        sent = timestamps(latency_settings, "feedback", len(steady))
        done = timestamps(latency_settings, "feedback-enriched", len(steady))
        latencies = [done[k] - sent[k] for k in done if k in sent]

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # torch's own default, for comparison
    alone_default = direct(analyzer, items)
    torch.set_num_threads(threads)

    load_after = os.getloadavg()[0]
    to_batched, to_raw = pipeline_rate / batch_rate, pipeline_rate / raw_rate
    p95 = percentile(latencies, 0.95)
    met = {"batched": to_batched >= 0.8, "raw": to_raw >= 0.25, "p95": p95 < 1000}
    verdicts = {k: "met" if ok else "**missed**" for k, ok in met.items()}
    body = f"""Analyzer: `{feedback.analyzer}` ({getattr(analyzer, "model_id", analyzer.identity)}),
{len(items)} unique generated texts (same texts every way), 3 partitions, embedded Kafka,
embedded Chroma, one process, FEEDBACK_MODEL_THREADS={feedback.model_threads},
FEEDBACK_BATCH_MAX={feedback.batch_max}, FEEDBACK_BATCH_WAIT_MS={feedback.batch_wait_ms}.
Enriched outputs per round: {enriched} of {len(items)}. Throughput rows: median of
{args.rounds} rounds, each measuring every row on the same texts back to back (pipeline
items/s per round: {", ".join(f"{r:.1f}" for r in rates)}; pipeline / batched analyzer
per round: {", ".join(f"{r:.2f}" for r in ratios)}).

| | items/s | p50 latency | p95 latency |
|---|---|---|---|
| raw batched encode of the texts (batches of {BATCH}): the limit | {raw_rate:.1f} | - | - |
| analyzer, `analyze_many` on batches of {BATCH}: the baseline | {batch_rate:.1f} | - | - |
| analyzer, one text at a time | {alone["items_per_s"]:.1f} | {alone["p50_ms"]:.0f} ms | {alone["p95_ms"]:.0f} ms |
| (same, torch's default {os.cpu_count()} threads) | {alone_default["items_per_s"]:.1f} | {alone_default["p50_ms"]:.0f} ms | {alone_default["p95_ms"]:.0f} ms |
| pipeline, draining a backlog | {pipeline_rate:.1f} | - | - |
| pipeline, fed at {rate:.1f} items/s for {args.seconds:.0f} s ({len(latencies)} items) | - | {percentile(latencies, 0.5):.0f} ms | {p95:.0f} ms |

Pipeline backlog / batched analyzer: **{to_batched:.2f}** (goal ≥ 0.8: {verdicts["batched"]});
pipeline backlog / raw encode: **{to_raw:.2f}** (goal ≥ 0.25: {verdicts["raw"]}); p95 at
half the backlog rate {p95:.0f} ms (goal < 1 s: {verdicts["p95"]}). Load average
{load_before:.1f} at the start and {load_after:.1f} at the end of the run on 2 cores.
Pipeline latency is end to end (produce of the input to produce of the enriched output):
consumer polling, the repartition hop by text hash, the wait for the batch (at most
FEEDBACK_BATCH_WAIT_MS), the answer's hop back through that topic and producer batching.
"""  # noqa: E501
    write_section("feedback", body)
    print(body, flush=True)
    if not args.skip_quality:
        feedback_quality.main()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
