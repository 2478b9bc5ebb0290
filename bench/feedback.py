"""bench/feedback: the feedback pipeline side by side with its analyzer called directly.

Same run, same process, same model, same texts (unique, so the cache never answers):

* direct: ``analyzer.analyze(text)`` in a loop, one text at a time (as the pipeline calls it);
* pipeline: the full app (repartition, cache lookups, schema check, Chroma upserts,
  windows and alerts) draining a pre-loaded backlog on the embedded Kafka. Items/s is
  measured between the first and the last enriched output (their timestamps are set
  when they are produced), so consumer-group start-up is left out;
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
from bench.results import percentile, write_section
from pipelines.common import backends
from pipelines.common.app import make_app
from pipelines.common.clients import client_config, producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.text.pii import mask_pii
from pipelines.devenv.broker import embedded_broker
from pipelines.feedback.analyzers.base import Analyzer
from pipelines.feedback.analyzers.factory import make_analyzer
from pipelines.feedback.feedback_pipeline import build
from pipelines.feedback.generator import generate
from pipelines.feedback.settings import FeedbackSettings
from pipelines.feedback.sinks import FeedbackVectorSink

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def deployment(broker: str, root: Path, name: str) -> StreamwiseSettings:
    return StreamwiseSettings(
        broker=broker, data_dir=root / name, topic_prefix=f"{name}-{uuid.uuid4().hex[:6]}.",
        partitions=3,
    )  # fmt: skip


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
) -> None:
    """Run the app until idle; ``rate`` None: pre-load everything, else feed at ``rate``/s."""
    feedback = FeedbackSettings()
    papp = make_app("feedback", settings)
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
    items = list(generate(args.items, start=START, spacing=timedelta(seconds=1), seed=11,
                          unique=True))  # fmt: skip
    analyzer.analyze("warm-up: load the model and its caches")
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp, embedded_broker("kafka") as broker:
        root = Path(tmp)
        # Alternate the two a few times: other work on the machine drifts, and pairs
        # measured back to back see about the same load.
        runs, rates, enriched = [], [], []
        for round_ in range(args.rounds):
            runs.append(direct(analyzer, items))
            backlog = deployment(broker.address, root, f"fb-tp{round_}")
            run_pipeline(backlog, analyzer, items, rate=None)
            produced = timestamps(backlog, "feedback-enriched", len(items))
            span_s = (max(produced.values()) - min(produced.values())) / 1000
            rates.append((len(produced) - 1) / span_s)
            enriched.append(len(produced))
        alone = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        pipeline_rate = statistics.median(rates)
        ratios = [p / d["items_per_s"] for p, d in zip(rates, runs, strict=True)]

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
    ratio = pipeline_rate / alone["items_per_s"]
    verdict = "met" if ratio >= 0.9 else "**missed**"
    body = f"""Analyzer: `{feedback.analyzer}` ({getattr(analyzer, "model_id", analyzer.identity)}),
{len(items)} unique generated texts (same texts both ways), 3 partitions, embedded Kafka,
embedded Chroma, one process. Enriched outputs per round: {enriched} of {len(items)}.
Throughput rows: median of {args.rounds} rounds, each a direct pass then a pipeline pass
over the same texts (pipeline items/s per round: {", ".join(f"{r:.1f}" for r in rates)};
ratio per round: {", ".join(f"{r:.2f}" for r in ratios)}).

| | items/s | p50 latency | p95 latency |
|---|---|---|---|
| analyzer called directly, one text at a time | {alone["items_per_s"]:.1f} | {alone["p50_ms"]:.0f} ms | {alone["p95_ms"]:.0f} ms |
| (same, torch's default {os.cpu_count()} threads instead of FEEDBACK_MODEL_THREADS={feedback.model_threads}) | {alone_default["items_per_s"]:.1f} | {alone_default["p50_ms"]:.0f} ms | {alone_default["p95_ms"]:.0f} ms |
| pipeline, draining a backlog | {pipeline_rate:.1f} | - | - |
| pipeline, fed at {rate:.1f} items/s for {args.seconds:.0f} s ({len(latencies)} items) | - | {percentile(latencies, 0.5):.0f} ms | {percentile(latencies, 0.95):.0f} ms |

Pipeline / direct throughput (medians): **{ratio:.2f}** (goal ≥ 0.9: {verdict}), both on
FEEDBACK_MODEL_THREADS={feedback.model_threads}; against the second row (the analyzer
alone on torch's default threads, measured once) it is
{pipeline_rate / alone_default["items_per_s"]:.2f}. One torch thread is the pipeline's
default because inside the app the model shares 2 cores with librdkafka, the broker and
Chroma, and OpenMP's spinning workers then cost more than they give: when this default
was chosen (2026-11-22, an Intel Xeon of 2 cores, the analyzer before its sentiment
adapter) the pipeline drained 16.1 items/s on torch's
default threads, 0.45 of the analyzer alone on them (35.5), against about 21 on one
thread. Load average
{load_before:.1f} at the start and {load_after:.1f} at the end of the run on 2 cores: other
work shared the machine, which shows in the tails (p95) of both rows alike. Pipeline latency is
end to end (produce of the input to produce of the enriched output), so it includes
consumer polling, the repartition hop by text hash and producer batching.
"""  # noqa: E501
    write_section("feedback", body)
    print(body, flush=True)
    if not args.skip_quality:
        feedback_quality.main()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
