"""Topic administration against the configured broker: create what is missing, report state."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
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
    logger.info("created topics: %s", ", ".join(created))
    return created


def topic_states(
    client_config: dict[str, Any], specs: Iterable[TopicSpec], *, timeout_s: float = 10.0
) -> list[TopicState]:
    """Partition and message counts (sum of high minus low watermarks) of each topic."""
    existing = _existing(client_config, timeout_s)
    consumer = Consumer({**client_config, "group.id": "streamwise-topics", "enable.auto.commit": False})
    try:
        states = []
        for topic_spec in specs:
            count = existing.get(topic_spec.name, 0)
            messages = 0
            for partition in range(count):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic_spec.name, partition), timeout=timeout_s
                )
                messages += high - low
            states.append(TopicState(topic_spec, count, messages))
        return states
    finally:
        consumer.close()
