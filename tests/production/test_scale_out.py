"""Scaling out: two fraud replicas share the work; one is SIGKILLed mid-stream; nothing is missed.

Replicas are ``streamwise run fraud`` processes in one consumer group, each with a
state directory of its own (as containers with their own volumes would be). The
survivor takes over the dead replica's partitions and rebuilds their state from
the changelog topics, so cards whose history the dead replica saw still alert.
"""

from __future__ import annotations

import signal
from pathlib import Path

from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from pipelines.common.app import client_config, pipeline_group
from pipelines.common.broker import free_port
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL
from tests.fraud.test_restart import feed
from tests.kafkaio import read
from tests.processes import create_topics, start_pipeline, stop, wait_for
from tests.production.scrape import get, samples, value


def test_survivor_takes_over_a_killed_replicas_partitions_and_misses_no_alert(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"partitions": 4})
    stream = generate(n_cards=600, days=3, seed=5)
    n = len(stream.transactions)
    create_topics(settings)

    ports = {"a": free_port(), "b": free_port()}
    logs = {name: tmp_path / f"fraud-{name}.log" for name in ports}
    replicas = {
        name: start_pipeline(
            settings.model_copy(update={"data_dir": settings.data_dir / name}),
            logs[name],
            env={"STREAMWISE_METRICS_PORT": str(port), "STREAMWISE_LOG_LEVEL": "INFO"},
        )
        for name, port in ports.items()
    }
    transactions = settings.topic_prefix + "transactions"
    try:
        for name, port in ports.items():
            log = logs[name]
            wait_for(
                lambda port=port: get(port, "/readyz")[0] == 200,
                timeout_s=90,
                what=lambda log=log: f"readiness\n{log.read_text()[-2000:]}",
            )
        wait_for(lambda: split_between(settings, 2), timeout_s=60,
                 what="both replicas to own input partitions")  # fmt: skip
        # Data only once both replicas are in the group: a replica that joins a running
        # group and must restore its share of state first stalls after restoring it
        # (quixstreams 3.28.1; see docs/production.md). Taking over after a crash works.
        feed(settings, stream, 0, n // 3)

        for name, port in ports.items():  # the group split the partitions between them
            wait_for(lambda port=port: processed(port, transactions) > 0, timeout_s=60,
                     what=f"replica {name} to process transactions")  # fmt: skip
        # the victim's per-card state is in its changelog, so the survivor has to restore it
        wait_for(lambda: changelogged(settings, owned(ports["a"], transactions)), timeout_s=30,
                 what="replica a to checkpoint per-card state")  # fmt: skip

        feed(settings, stream, n // 3, n)
        replicas["a"].send_signal(signal.SIGKILL)
        replicas["a"].wait(30)
        killed_at = len(logs["b"].read_text())
        before = {r.json()["alert_id"] for r in read(settings, "fraud-alerts", timeout_s=3)}
        assert len(before & stream.expected) < len(stream.expected), "kill was not mid-stream"

        records = read(
            settings, "fraud-alerts", timeout_s=180, idle_s=5,
            until=lambda r: {x.json()["alert_id"] for x in r} >= stream.expected,
        )  # fmt: skip
    finally:
        codes = {name: stop(process) for name, process in replicas.items()}
    assert codes["b"] == 0, logs["b"].read_text()[-2000:]

    travel = {r.json()["alert_id"] for r in records if r.json()["rule"] == IMPOSSIBLE_TRAVEL}
    assert travel == stream.expected, "every expected alert, nothing else"
    by_id: dict[str, set[bytes]] = {}
    for record in records:
        by_id.setdefault(record.json()["alert_id"], set()).add(record.value or b"")
    assert all(len(values) == 1 for values in by_id.values()), "a replayed alert is identical"
    takeover = logs["b"].read_text()[killed_at:]
    assert "Recovery successful for" in takeover, "the survivor restored state from changelogs"


def processed(port: int, topic: str) -> float:
    """Input messages of ``topic`` through the replica's steps."""
    return value(samples(port), "streamwise_messages_in_total", topic=topic)


def owned(port: int, topic: str) -> list[int]:
    """The partitions of ``topic`` the replica owns now (it reports a lag for each)."""
    return [
        int(dict(labels)["partition"])
        for (name, labels), _ in samples(port).items()
        if name == "streamwise_consumer_lag" and dict(labels).get("topic") == topic
    ]


def changelogged(settings: StreamwiseSettings, partitions: list[int]) -> bool:
    """Whether every one of ``partitions`` has per-card state in its changelog."""
    consumer = Consumer({**client_config(settings), "group.id": "test-changelog-probe"})
    try:
        changelog = next(
            name
            for name in consumer.list_topics(timeout=10).topics
            if name.startswith("changelog__" + pipeline_group("fraud", settings.topic_prefix))
            and name.endswith(settings.topic_prefix + "transactions--default")
        )
        return bool(partitions) and all(
            consumer.get_watermark_offsets(TopicPartition(changelog, p), timeout=10)[1] > 0
            for p in partitions
        )
    finally:
        consumer.close()


def split_between(settings: StreamwiseSettings, replicas: int) -> bool:
    """Whether the fraud group is stable with ``replicas`` members, each owning transactions."""
    group = pipeline_group("fraud", settings.topic_prefix)
    topic = settings.topic_prefix + "transactions"
    admin = AdminClient(client_config(settings))
    try:
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    except KafkaException:
        return False
    return (
        described.state == ConsumerGroupState.STABLE
        and len(described.members) == replicas
        and all(
            any(tp.topic == topic for tp in member.assignment.topic_partitions)
            for member in described.members
        )
    )
