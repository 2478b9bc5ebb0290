"""Crash safety of the lake: SIGKILL mid-stream, or Kafka's offsets lost after the appends,
and every record is in its table exactly once after the restart."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from pipelines.common.clients import client_config, pipeline_group
from pipelines.common.settings import StreamwiseSettings
from tests.kafkaio import lag, produce, read
from tests.lake.lakes import alert
from tests.lake.running import alert_ids, start_lake
from tests.processes import create_topics, stop, wait_for

ALERTS = 3000


def send(settings: StreamwiseSettings, numbers: range) -> None:
    produce(settings, "fraud-alerts", [(f"card-{n % 50}", alert(n, card_id=f"card-{n % 50}"))
                                       for n in numbers])  # fmt: skip


def caught_up(settings: StreamwiseSettings, log: Path) -> None:
    """Wait until the lake has committed its offsets to the end of the topic."""
    wait_for(
        lambda: not any(lag(settings, "lake", "fraud-alerts").values()),
        timeout_s=90,
        what=lambda: f"the lake's offsets at the end; log: {log.read_text()[-2000:]}",
    )


def drain(settings: StreamwiseSettings, log: Path) -> None:
    """Run the lake until it has read the topic to its end, then stop it with SIGTERM."""
    lake = start_lake(settings, log)
    try:
        caught_up(settings, log)
    finally:
        assert stop(lake) == 0, log.read_text()[-2000:]


def topic_ids(settings: StreamwiseSettings) -> Counter[str]:
    records = read(settings, "fraud-alerts", until=lambda r: len(r) >= ALERTS, timeout_s=60)
    return Counter(record.json()["alert_id"] for record in records)


def test_sigkill_mid_stream_then_restart_leaves_no_row_missing_or_doubled(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    create_topics(settings)
    log = tmp_path / "lake.log"
    send(settings, range(ALERTS // 2))
    first = start_lake(settings, log)
    try:  # once it has appended, send the rest and kill it while it works through them
        wait_for(lambda: alert_ids(settings).total() > 0, timeout_s=90,
                 what=lambda: f"a first append; log: {log.read_text()[-2000:]}")  # fmt: skip
        send(settings, range(ALERTS // 2, ALERTS))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    held_at_kill = alert_ids(settings).total()

    drain(settings, log)
    assert held_at_kill < ALERTS, "killed mid-stream"
    assert alert_ids(settings) == topic_ids(settings), "each record once, none missing"


def test_offsets_lost_after_the_appends_replay_nothing_into_the_tables(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    """The crash between an append and Kafka's offset commit, at its widest: every offset
    lost. The replay finds each record in the table's snapshot offsets and skips it."""
    create_topics(settings)
    log = tmp_path / "lake.log"
    send(settings, range(ALERTS))
    drain(settings, log)
    rewind(settings, "fraud-alerts")
    assert sum(lag(settings, "lake", "fraud-alerts").values()) == ALERTS
    drain(settings, log)
    assert alert_ids(settings) == topic_ids(settings)
    assert max(alert_ids(settings).values()) == 1
    assert "replayed row(s), all in the table already" in log.read_text()


def rewind(settings: StreamwiseSettings, topic: str) -> None:
    """Commit offset 0 for every partition of ``topic`` in the (stopped) lake's group."""
    name = settings.topic_prefix + topic
    group = pipeline_group("lake", settings.topic_prefix)
    consumer = Consumer({**client_config(settings), "group.id": group})
    try:
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        consumer.commit(offsets=[TopicPartition(name, p, 0) for p in partitions],
                        asynchronous=False)  # fmt: skip
    finally:
        consumer.close()
