"""Topic administration against the configured broker: create what is missing, report state."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from pipelines.common.topic_checks import BrokerTopic
from pipelines.common.topics import TopicSpec

logger = logging.getLogger(__name__)


class BrokerUnreachable(RuntimeError):
    """The configured broker did not answer in time."""


# librdkafka's codes for a request no broker answered (as opposed to one it refused).
_NO_ANSWER = frozenset(
    {KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN,
     KafkaError.REQUEST_TIMED_OUT}
)  # fmt: skip


class TopicsUnusable(RuntimeError):
    """Topics exist, or cannot be created, in a shape a pipeline cannot work with."""


@dataclass(frozen=True)
class TopicState:
    """What the broker holds for one registered topic (``partitions == 0``: missing)."""

    spec: TopicSpec
    partitions: int
    messages: int
    broker: BrokerTopic | None = None
    """How the broker keeps it (``None``: missing)."""

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
    for name, future in admin.create_topics(missing, request_timeout=timeout_s).items():
        try:
            future.result()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() in _NO_ANSWER:  # the broker went away mid-request: an outage
                address = client_config.get("bootstrap.servers")
                msg = f"broker {address} did not answer while creating {name} ({error.str()})"
                raise BrokerUnreachable(msg) from exc
            if error.name() != "TOPIC_ALREADY_EXISTS":  # a concurrent start won
                raise TopicsUnusable(_creation_refused(name, error, replication_factor)) from exc
    created = [topic.topic for topic in missing]
    _wait_for_leaders(admin, created, timeout_s)
    logger.info("created topics: %s", ", ".join(created))
    return created


def _creation_refused(name: str, error: KafkaError, replication_factor: int) -> str:
    """Why the broker would not create ``name``, in words that say what to change."""
    if error.code() == KafkaError.INVALID_REPLICATION_FACTOR:
        return (
            f"cannot create {name} with STREAMWISE_REPLICATION_FACTOR={replication_factor}: "
            f"the cluster has fewer brokers ({error.str()}); lower it to at most the broker count"
        )
    if error.code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    ):
        return (
            f"not authorized to create {name} ({error.str()}): it is missing or this principal "
            "may not see it; have an operator create the topics ('streamwise topics --create') "
            "and grant this client the ACLs 'streamwise acls' prints"
        )
    return f"the broker refused to create {name}: {error.str()}"


def describe_topics(
    client_config: dict[str, Any], names: Iterable[str], *, timeout_s: float = 10.0
) -> dict[str, BrokerTopic]:
    """Partitions, cleanup policy and retention of the topics of ``names`` that exist.

    Read from the broker (DescribeConfigs), not from the registry: a topic someone else
    created, or the broker auto-created, shows as it really is.
    """
    existing = _existing(client_config, timeout_s)
    present = [name for name in names if name in existing]
    if not present:
        return {}
    admin = AdminClient(client_config)
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in present]
    described: dict[str, BrokerTopic] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout_s).items():
        configs = future.result()
        policy = configs.get("cleanup.policy")
        retention = configs.get("retention.ms")
        described[resource.name] = BrokerTopic(
            partitions=existing[resource.name],
            cleanup_policy=policy.value if policy is not None else None,
            retention_ms=int(retention.value)
            if retention is not None and retention.value
            else None,
        )
    return described


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
    specs = list(specs)
    held = describe_topics(client_config, [s.name for s in specs], timeout_s=timeout_s)
    existing = {name: topic.partitions for name, topic in held.items()}
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
            states.append(TopicState(topic_spec, count, messages, held.get(topic_spec.name)))
        return states
    finally:
        consumer.close()
