"""Scaling out: fraud replicas share the work, join a running group, and survive a SIGKILL.

Replicas are ``streamwise run fraud`` processes in one consumer group, each with a
state directory of its own (as containers with their own volumes would be). A
replica that joins later, or takes over a dead replica's partitions, rebuilds those
partitions' state from the changelog topics first, so cards whose history another
replica saw still alert.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from pipelines.common.clients import client_config, pipeline_group
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import free_port
from pipelines.fraud.generator import GeneratedStream, generate
from tests.fraud.delivery import assert_delivered
from tests.fraud.transactions import feed
from tests.kafkaio import Record, read
from tests.processes import create_topics, start_pipeline, stop, wait_for
from tests.production.scrape import get, samples, value


class Replica:
    """One ``streamwise run fraud`` process with its own state directory and metrics port."""

    def __init__(self, settings: StreamwiseSettings, name: str, log_dir: Path) -> None:
        self.name, self.port = name, free_port()
        self.log = log_dir / f"fraud-{name}.log"
        self.process: subprocess.Popen[bytes] = start_pipeline(
            settings.model_copy(update={"data_dir": settings.data_dir / name}),
            self.log,
            env={"STREAMWISE_METRICS_PORT": str(self.port), "STREAMWISE_LOG_LEVEL": "INFO"},
        )

    def wait_ready(self) -> None:
        wait_for(
            lambda: get(self.port, "/readyz")[0] == 200,
            timeout_s=90,
            what=lambda: f"replica {self.name} readiness\n{self.log.read_text()[-2000:]}",
        )

    def processed(self, topic: str) -> float:
        """Input messages of ``topic`` through the replica's steps."""
        return value(samples(self.port), "streamwise_messages_in_total", topic=topic)

    def owned(self, topic: str) -> list[int]:
        """The partitions of ``topic`` the replica owns now (it reports a lag for each)."""
        return [
            int(dict(labels)["partition"])
            for (name, labels), _ in samples(self.port).items()
            if name == "streamwise_consumer_lag" and dict(labels).get("topic") == topic
        ]


@pytest.fixture
def four_partitions(settings: StreamwiseSettings) -> StreamwiseSettings:
    """Topics of four partitions (two each for two replicas), created before any replica."""
    settings = settings.model_copy(update={"partitions": 4})
    create_topics(settings)
    return settings


@pytest.fixture(scope="module")
def stream() -> GeneratedStream:
    return generate(n_cards=600, days=3, seed=5)


def test_survivor_takes_over_a_killed_replicas_partitions_and_misses_no_alert(
    four_partitions: StreamwiseSettings, stream: GeneratedStream, tmp_path: Path
) -> None:
    settings, n = four_partitions, len(stream.transactions)

    replicas = {name: Replica(settings, name, tmp_path) for name in ("a", "b")}
    transactions = settings.topic_prefix + "transactions"
    try:
        for replica in replicas.values():
            replica.wait_ready()
        wait_for(lambda: split_between(settings, 2), timeout_s=60,
                 what="both replicas to own input partitions")  # fmt: skip
        feed(settings, stream, 0, n // 3)

        for replica in replicas.values():  # the group split the partitions between them
            wait_for(lambda replica=replica: replica.processed(transactions) > 0, timeout_s=60,
                     what=f"replica {replica.name} to process transactions")  # fmt: skip
        # the victim's per-card state is in its changelog, so the survivor has to restore it
        wait_for(lambda: changelogged(settings, replicas["a"].owned(transactions)),
                 timeout_s=30, what="replica a to checkpoint per-card state")  # fmt: skip

        feed(settings, stream, n // 3, n)
        replicas["a"].process.send_signal(signal.SIGKILL)
        replicas["a"].process.wait(30)
        killed_at = len(replicas["b"].log.read_text())
        before = {r.json()["alert_id"] for r in read(settings, "fraud-alerts", timeout_s=3)}
        assert len(before & stream.expected) < len(stream.expected), "kill was not mid-stream"

        records = read_every_expected_alert(settings, stream.expected)
    finally:
        codes = {name: stop(replica.process) for name, replica in replicas.items()}
    assert codes["b"] == 0, replicas["b"].log.read_text()[-2000:]

    assert_delivered(records, stream.expected)
    takeover = replicas["b"].log.read_text()[killed_at:]
    assert "Recovery successful for" in takeover, "the survivor restored state from changelogs"


def test_a_replica_added_to_a_running_group_restores_its_share_and_processes_it(
    four_partitions: StreamwiseSettings, stream: GeneratedStream, tmp_path: Path
) -> None:
    settings, n = four_partitions, len(stream.transactions)
    transactions = settings.topic_prefix + "transactions"

    replicas = {"b": Replica(settings, "b", tmp_path)}
    try:
        replicas["b"].wait_ready()
        feed(settings, stream, 0, n // 3)
        # b alone has seen a third of the stream and checkpointed every partition's state
        wait_for(lambda: replicas["b"].processed(transactions) >= n // 3, timeout_s=90,
                 what="the first replica to process the first third")  # fmt: skip
        wait_for(lambda: changelogged(settings, list(range(settings.partitions))),
                 timeout_s=30, what="per-card state in every changelog partition")  # fmt: skip

        replicas["a"] = Replica(settings, "a", tmp_path)
        replicas["a"].wait_ready()
        wait_for(lambda: split_between(settings, 2), timeout_s=60,
                 what="the group to split the partitions between both replicas")  # fmt: skip
        feed(settings, stream, n // 3, n)
        records = read_every_expected_alert(settings, stream.expected)
        joined_share = replicas["a"].processed(transactions)
    finally:
        codes = {name: stop(replica.process) for name, replica in replicas.items()}
    assert codes == {"a": 0, "b": 0}, {r.name: r.log.read_text()[-2000:] for r in replicas.values()}

    assert joined_share > 0, "the replica that joined processed its partitions"
    assert "Recovery successful for" in replicas["a"].log.read_text(), (
        "the replica that joined restored its partitions' state from the changelogs"
    )
    assert_delivered(records, stream.expected)


def read_every_expected_alert(settings: StreamwiseSettings, expected: set[str]) -> list[Record]:
    return read(
        settings, "fraud-alerts", timeout_s=180, idle_s=5,
        until=lambda r: {x.json()["alert_id"] for x in r} >= expected,
    )  # fmt: skip


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
