"""A 30 s network partition between the feedback pipeline and the broker, mid-enrichment.

Every byte between the clients and Kafka is dropped (Toxiproxy, connections left open)
while the pipeline works through a backlog. The connections look alive to librdkafka,
yet the pipeline sees the outage (a reply owed for over 10 s), says so in one line and
is not ready; after the heal every item is enriched, none is dead-lettered, and the
pipeline carried on by itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import embedded_broker, free_port
from pipelines.feedback.generator import generate
from tests.faults import figures
from tests.faults.toxiproxy import running_toxiproxy
from tests.kafkaio import produce, read
from tests.processes import create_topics, start_pipeline, stop, wait_for
from tests.production.scrape import get

PARTITION_S = 30


def test_a_partition_to_the_broker_mid_enrichment_loses_no_item(tmp_path: Path) -> None:
    log = tmp_path / "feedback.log"
    start = datetime.now(UTC) - timedelta(minutes=10)
    items = list(generate(300, start=start, spacing=timedelta(seconds=1), seed=3, unique=True))
    proxy_port, catch_up = free_port(), figures.CatchUp()
    with (
        running_toxiproxy(tmp_path / "toxiproxy.log") as toxiproxy,
        embedded_broker("kafka", workdir=tmp_path, advertised_port=proxy_port) as broker,
    ):
        kafka = toxiproxy.proxy("kafka", broker.address, proxy_port)
        settings = StreamwiseSettings(
            broker=f"127.0.0.1:{proxy_port}", data_dir=tmp_path / "data", partitions=2
        )  # every client, the test's own included, reaches Kafka through the proxy
        create_topics(settings)
        produce(settings, "feedback", [(i["feedback_id"], i) for i in items[:200]])
        feedback = start_pipeline(settings, log, "feedback", env={"STREAMWISE_METRICS_PORT": "0"})
        try:
            read(settings, "feedback-enriched", until=lambda r: len(r) >= 20, timeout_s=180)
            port = int((settings.run_dir / "feedback.metrics-port").read_text())
            kafka.partition()
            parted = time.monotonic()
            wait_for(
                lambda: get(port, "/readyz")[0] == 503, timeout_s=PARTITION_S - 5,
                what=lambda: "not ready while cut off\n" + log.read_text()[-2000:],
            )  # fmt: skip
            time.sleep(max(0.0, PARTITION_S - (time.monotonic() - parted)))
            kafka.heal()
            catch_up.heal()
            produce(settings, "feedback", [(i["feedback_id"], i) for i in items[200:]])
            wanted = {i["feedback_id"] for i in items}
            enriched = read(
                settings, "feedback-enriched", timeout_s=300, idle_s=3,
                until=catch_up.until(lambda r: {x.json()["feedback_id"] for x in r} >= wanted),
            )  # fmt: skip
            wait_for(lambda: get(port, "/readyz")[0] == 200, timeout_s=60, what="ready again")
            alive = feedback.poll() is None
        finally:
            code = stop(feedback)
        dead = read(settings, "feedback-dlq", timeout_s=2)

    text = log.read_text()
    figures.record(f"{PARTITION_S} s network partition to Kafka", "feedback", "at-least-once",
           expected=wanted, delivered=[r.json()["feedback_id"] for r in enriched],
           dead_lettered=len(dead), catch_up=catch_up)  # fmt: skip
    assert alive, "it rode out the partition without a restart"
    assert code == 0, text[-3000:]
    assert {r.json()["feedback_id"] for r in enriched} == wanted, "every item, nothing else"
    assert dead == [], "a partition is not poison"
    assert text.count("broker unreachable: no reply for over 10 s") == 1, text[-3000:]
    assert text.count("broker reachable again") == 1, text[-3000:]
    assert "Traceback" not in text
