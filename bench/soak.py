"""``python -m bench.soak``: all five pipelines under a steady mixed load for half an hour.

Transactions, feedback, knowledge-base changes and questions flow at fixed rates into
every pipeline, run as processes on an embedded Kafka and a Chroma server, as users run
them. Every ``--sample-s`` each pipeline is measured from outside: its resident memory
(``/proc``), its state directory on disk, its consumer lag and the p99 of its step time
(both from its own ``/metrics``). The baseline is the run's own first sample, side by
side with the later ones: a leak or a slow drift shows as growth against it.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from bench.results import write_section
from pipelines.common.clients import create_registry_topics, producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import embedded_broker, process
from pipelines.devenv.chroma_server import running_chroma
from pipelines.feedback.generator import generate as generate_feedback

PIPELINES = ("fraud", "fraud-triage", "feedback", "knowledge", "rag")
CITIES = [(51.5074, -0.1278, "GB"), (48.8566, 2.3522, "FR"), (52.52, 13.405, "DE"),
          (40.4168, -3.7038, "ES"), (41.9028, 12.4964, "IT")]  # fmt: skip


@dataclass(frozen=True)
class Sample:
    minute: float
    pipeline: str
    rss_mib: float
    state_mib: float
    lag: float
    p99_ms: float | None


def _transaction(
    rng: random.Random, n: int, args: argparse.Namespace
) -> tuple[str, dict[str, object]]:
    """One of ``args.cards`` cards paying at home, or (``args.travel_share`` of the time) in
    another city: the share of impossible-travel alerts, which triage explains one by one
    with the LLM. Too few cards for the rate and every card is a velocity burst."""
    number = rng.randrange(args.cards)
    home = number % len(CITIES)
    away = rng.random() < args.travel_share
    city = (home + rng.randrange(1, len(CITIES))) % len(CITIES) if away else home
    lat, lon, country = CITIES[city]
    card = f"card-{number}"
    return card, {
        "txn_id": f"soak-{n}", "card_id": card, "ts": datetime.now(UTC).isoformat(),
        "lat": lat, "lon": lon, "amount": round(rng.uniform(3, 300), 2), "currency": "EUR",
        "merchant": "soak shop", "country": country, "channel": "card_present",
    }  # fmt: skip


def load(settings: StreamwiseSettings, args: argparse.Namespace, stop: threading.Event) -> None:
    """Send the mixed load until ``stop``: each kind on its own schedule, one producer."""
    producer = Producer({**producer_config(settings), "linger.ms": 20})
    prefix, rng, started = settings.topic_prefix, random.Random(1), time.monotonic()
    feedback = generate_feedback(10**9, start=datetime.now(UTC), spacing=timedelta(0), unique=True)
    sent = {"tx": 0, "fb": 0, "kb": 0, "q": 0}
    while not stop.is_set():
        elapsed = time.monotonic() - started
        for _ in range(int(elapsed * args.tx_rate) - sent["tx"]):
            key, value = _transaction(rng, sent["tx"], args)
            producer.produce(prefix + "transactions", key=key, value=encode_json(value))
            sent["tx"] += 1
        for _ in range(int(elapsed * args.feedback_rate) - sent["fb"]):
            item = {**next(feedback), "ts": datetime.now(UTC).isoformat()}
            producer.produce(prefix + "feedback", key=item["feedback_id"], value=encode_json(item))
            sent["fb"] += 1
        if elapsed >= sent["kb"] * args.kb_every_s:
            doc = f"policy-{sent['kb'] % 50}"
            change = {"doc_id": doc, "version": sent["kb"] // 50 + 1, "op": "upsert",
                      "ts": datetime.now(UTC).isoformat(), "title": f"Policy {doc}",
                      "text": f"Revision {sent['kb']}: items of {doc} can be returned within "
                              f"{10 + sent['kb'] % 20} days."}  # fmt: skip
            producer.produce(prefix + "kb-changes", key=doc, value=encode_json(change))
            sent["kb"] += 1
        if elapsed >= sent["q"] * args.question_every_s:
            qid = f"soak-q-{sent['q']}"
            question = {"question_id": qid, "text": "How many days do I have to return an item?",
                        "ts": datetime.now(UTC).isoformat()}  # fmt: skip
            producer.produce(prefix + "questions", key=qid, value=encode_json(question))
            sent["q"] += 1
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    scraped: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            scraped.setdefault(sample.name, []).append((sample.labels, sample.value))
    return scraped


def _buckets(scraped: dict[str, list[tuple[dict[str, str], float]]]) -> dict[float, float]:
    """Cumulative step-time histogram counts by upper bound, summed over steps."""
    out: dict[float, float] = {}
    for labels, count in scraped.get("streamwise_processing_seconds_bucket", []):
        bound = float(labels["le"])
        out[bound] = out.get(bound, 0.0) + count
    return out


def _p99_ms(before: dict[float, float], after: dict[float, float]) -> float | None:
    """The upper bound of the bucket holding the 99th percentile of the interval's steps."""
    delta = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in after}
    total = delta.get(float("inf"), 0.0)
    if total <= 0:
        return None
    for bound in sorted(delta):
        if delta[bound] >= 0.99 * total:
            return bound * 1000
    return None


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _du_mib(path: Path) -> float:
    files = [f for f in path.rglob("*") if f.is_file()] if path.exists() else []
    return sum(f.stat().st_size for f in files) / 2**20


Running = dict[str, tuple[subprocess.Popen[bytes], int]]
"""Each pipeline's process and the port of its ``/metrics``."""


@contextmanager
def _pipelines(settings: StreamwiseSettings, logs: Path) -> Iterator[Running]:
    env = {**os.environ, "STREAMWISE_BROKER": str(settings.broker),
           "STREAMWISE_DATA_DIR": str(settings.data_dir), "STREAMWISE_METRICS_PORT": "0",
           "STREAMWISE_CHROMA_HOST": str(settings.chroma_host),
           "STREAMWISE_STATE_MEMORY_MB": str(settings.state_memory_mb)}  # fmt: skip
    children = {name: process.spawn([sys.executable, "-m", "pipelines.cli", "run", name],
                                    log_path=logs / f"{name}.log", env=env)
                for name in PIPELINES}  # fmt: skip
    try:
        ports: dict[str, int] = {}
        deadline = time.monotonic() + 300
        while len(ports) < len(children) and time.monotonic() < deadline:
            for name in children:
                announced = settings.run_dir / f"{name}.metrics-port"
                if announced.exists() and announced.read_text().strip():
                    ports[name] = int(announced.read_text())
            time.sleep(1)
        yield {name: (child, ports[name]) for name, child in children.items()}
    finally:
        for child in children.values():
            process.stop(child, grace_s=30)


def run(args: argparse.Namespace, work: Path) -> list[Sample]:
    with (
        embedded_broker("kafka", workdir=work) as broker,
        running_chroma(work / "chroma", work / "chroma.log") as chroma,
    ):
        settings = StreamwiseSettings(broker=broker.address, data_dir=work / "data",
                                      chroma_host=chroma.address,
                                      state_memory_mb=args.state_memory_mb)  # fmt: skip
        create_registry_topics(settings)
        with _pipelines(settings, work) as running:
            stop = threading.Event()
            sender = threading.Thread(target=load, args=(settings, args, stop), daemon=True)
            sender.start()
            started, samples = time.monotonic(), []
            before = {name: _buckets(_scrape(port)) for name, (_, port) in running.items()}
            while True:
                time.sleep(args.sample_s)
                minute = (time.monotonic() - started) / 60
                for name, (child, port) in running.items():
                    scraped = _scrape(port)
                    after = _buckets(scraped)
                    lag = sum(v for _, v in scraped.get("streamwise_consumer_lag", []))
                    samples.append(Sample(
                        round(minute, 1), name, _rss_mib(child.pid),
                        _du_mib(settings.state_dir / name), lag, _p99_ms(before[name], after),
                    ))  # fmt: skip
                    before[name] = after
                print(f"soak: {minute:.1f} min sampled", file=sys.stderr, flush=True)
                if minute >= args.minutes:
                    break
            stop.set()
            sender.join(60)
    return samples


def report(samples: list[Sample], args: argparse.Namespace) -> str:
    minutes = sorted({s.minute for s in samples})
    shown = {minutes[0], minutes[-1], *minutes[:: max(1, len(minutes) // 6)]}
    lines = [
        f"Load: {args.tx_rate} transactions/s by {args.cards} cards ({args.travel_share:.2%} "
        f"away from the card's home city), {args.feedback_rate} feedback items/s, a KB "
        f"change every {args.kb_every_s} s, a question every {args.question_every_s} s, for "
        f"{args.minutes} min; sampled every {args.sample_s} s; STREAMWISE_STATE_MEMORY_MB="
        f"{args.state_memory_mb}. The first row of each pipeline is the baseline.",
        "",
        "| pipeline | minute | RSS MiB | state MiB | consumer lag | p99 step ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in PIPELINES:
        for s in (s for s in samples if s.pipeline == name and s.minute in shown):
            p99 = "-" if s.p99_ms is None else f"{s.p99_ms:g}"
            lines.append(f"| {name} | {s.minute} | {s.rss_mib:.0f} | {s.state_mib:.1f} | "
                         f"{s.lag:.0f} | {p99} |")  # fmt: skip
    return "\n".join([*lines, "", *drift(samples)])


def drift(samples: list[Sample]) -> list[str]:
    """RSS growth per pipeline in the first and the second half of the run: a leak keeps
    its rate, a cache filling up slows down."""
    lines = ["| pipeline | RSS growth, first half | RSS growth, second half |", "|---|---:|---:|"]
    for name in PIPELINES:
        rss = [s.rss_mib for s in samples if s.pipeline == name]
        if len(rss) < 3:  # a start, a middle and an end
            continue
        middle = len(rss) // 2
        lines.append(f"| {name} | {rss[middle] - rss[0]:+.0f} MiB | "
                     f"{rss[-1] - rss[middle]:+.0f} MiB |")  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--tx-rate", type=float, default=1000)
    parser.add_argument(
        "--cards", type=int, default=200_000,
        help="cards paying: at 1,000 tx/s each pays every 200 s, far from a velocity burst",
    )  # fmt: skip
    parser.add_argument(
        "--travel-share", type=float, default=0.0005,
        help="share of transactions in another city than the card's home",
    )  # fmt: skip
    parser.add_argument("--feedback-rate", type=float, default=5)
    parser.add_argument("--kb-every-s", type=float, default=5)
    parser.add_argument("--question-every-s", type=float, default=5)
    parser.add_argument("--sample-s", type=float, default=60)
    parser.add_argument(
        "--state-memory-mb", type=int,
        default=StreamwiseSettings.model_fields["state_memory_mb"].default,
        help="STREAMWISE_STATE_MEMORY_MB of every pipeline",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="streamwise-soak-") as work:
        samples = run(args, Path(work))
    body = report(samples, args)
    write_section("soak", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
