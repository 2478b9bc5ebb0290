"""An empty broker started on the old one's port is another cluster: one line, not a stall.

The embedded Kafka without a data dir starts empty, with a new cluster id. A pipeline
whose broker is replaced so must not carry on against topics and offsets that are not
there (librdkafka only logs "reports different ClusterId" and goes quiet): it stops, in
one line, with a non-zero exit.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import embedded_broker, free_port
from tests.fraud.transactions import LONDON, PARIS, txn
from tests.kafkaio import produce, read
from tests.processes import create_topics, start_pipeline, stop, stopped_in_one_line


def test_a_broker_back_as_another_cluster_stops_the_pipeline_in_one_line(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "fraud.log"
    with embedded_broker("kafka", port=port, workdir=tmp_path) as broker:
        settings = StreamwiseSettings(broker=broker.address, data_dir=tmp_path / "data")
        create_topics(settings)
        fraud = start_pipeline(settings, log)
        produce(settings, "transactions", [
            ("card-1", txn("t1", "card-1", timedelta(0), LONDON)),
            ("card-1", txn("t2", "card-1", timedelta(seconds=40), PARIS)),
        ])  # fmt: skip
        read(settings, "fraud-alerts", until=lambda r: len(r) >= 1, timeout_s=120)  # running
        broker.child.kill()
        broker.child.wait(30)
    try:
        with embedded_broker("kafka", port=port, workdir=tmp_path):  # empty: a new cluster
            code = fraud.wait(120)
    finally:
        stop(fraud)
    line = stopped_in_one_line(code, log)
    assert "came back as another cluster" in line, line
