"""Topic administration against the configured broker: create what is missing, report state."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pipelines.common.topics import TopicSpec

logger = logging.getLogger(__name__)


class BrokerUnreachable(RuntimeError):
    """The configured broker did not answer in time."""


@dataclass(frozen=True)
class TopicState:
    """What the broker holds for one registered topic (``partitions == 0``: missing)."""

    spec: TopicSpec
    partitions: int
    messages: int

    @property
    def exists(self) -> bool:
        return self.partitions > 0


def _existing(client_config: dict[str, Any], timeout_s: float) -> dict[str, int]:
    try:
        metadata = AdminClient(client_config).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        address = client_config.get("bootstrap.servers")
        msg = f"broker {address} did not answer within {timeout_s:.0f}s ({exc.args[0].str()})"
        raise BrokerUnreachable(msg) from exc
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(
    client_config: dict[str, Any],
    specs: Iterable[TopicSpec],
    *,
    partitions: int,
    replication_factor: int = 1,
    timeout_s: float = 10.0,
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names created."""
    existing = _existing(client_config, timeout_s)
    missing = [
        NewTopic(s.name, partitions, replication_factor, config=s.broker_config())
        for s in specs
        if s.name not in existing
    ]
    if not missing:
        return []
    admin = AdminClient(client_config)  # keep a reference: futures die with their client
    for future in admin.create_topics(missing, request_timeout=timeout_s).values():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a concurrent start won
                raise
    created = [topic.topic for topic in missing]
    _wait_for_leaders(admin, created, timeout_s)
    logger.info("created topics: %s", ", ".join(created))
    return created


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout_s: float) -> None:
    """Block until every partition of ``names`` has a leader: new topics are not usable before."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout_s).topics
        if all(
            name in topics
            and topics[name].partitions
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        ):
            return
        time.sleep(0.1)
    msg = f"new topics got no partition leaders within {timeout_s:.0f}s: {', '.join(names)}"
    raise BrokerUnreachable(msg)


_LEADER_SETTLING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _watermarks(
    consumer: Consumer, partition: TopicPartition, attempts: int = 50
) -> tuple[int, int]:
    """Low and high watermark, retrying while a just-created partition settles its leader."""
    for attempt in range(attempts):
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10.0)
        except KafkaException as exc:
            settling = exc.args[0].retriable() or exc.args[0].code() in _LEADER_SETTLING
            if not settling or attempt == attempts - 1:
                raise
            time.sleep(0.1)
        else:
            return int(low), int(high)
    raise AssertionError  # unreachable: the last attempt returns or raises


def topic_states(
    client_config: dict[str, Any], specs: Iterable[TopicSpec], *, timeout_s: float = 10.0
) -> list[TopicState]:
    """Partition and message counts (sum of high minus low watermarks) of each topic."""
    existing = _existing(client_config, timeout_s)
    consumer = Consumer(
        {**client_config, "group.id": "streamwise-topics", "enable.auto.commit": False}
    )
    try:
        states = []
        for topic_spec in specs:
            count = existing.get(topic_spec.name, 0)
            messages = 0
            for partition in range(count):
                low, high = _watermarks(consumer, TopicPartition(topic_spec.name, partition))
                messages += high - low
            states.append(TopicState(topic_spec, count, messages))
        return states
    finally:
        consumer.close()
