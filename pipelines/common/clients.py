"""Plain Kafka clients of a deployment: their configuration, a first connection that
fails fast with the broker's reason, and the registry's topics created before use.

Everything that talks to Kafka outside a pipeline (``produce``, ``ask``, ``serve``, the
dashboard, the demo, the tests) needs only this module, not the application factory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from pipelines.common.admin import ensure_topics
from pipelines.common.settings import StreamwiseSettings, kafka_client_config
from pipelines.common.topics import all_topics

# librdkafka logs every refused connection to stderr; route it through logging
# instead, where it is quiet unless STREAMWISE_LOG_LEVEL asks for more.
LIBRDKAFKA_LOGGER = logging.getLogger("streamwise.librdkafka")


class BrokerNotConfigured(RuntimeError):
    """No broker address: set STREAMWISE_BROKER or let the CLI start the embedded one."""


class BrokerRefused(ConnectionError):
    """The broker answered but refused us: bad credentials or a certificate we do not trust."""


# Errors no retry can fix: librdkafka would retry them until a metadata timeout and then
# report only "Broker transport failure"; its error callback names the real reason.
_REFUSALS = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
_VERIFIED: set[frozenset[tuple[str, str]]] = set()
VERIFY_TIMEOUT_S = 5.0


def pipeline_group(pipeline: str, topic_prefix: str = "") -> str:
    """The pipeline's consumer group, ``streamwise-<pipeline>``, behind the topic prefix.

    Deployments that share a cluster through ``STREAMWISE_TOPIC_PREFIX`` must not share
    groups: one group across deployments means every restart of one rebalances the
    others (the test suite, one broker for every test, was such a cluster).
    """
    return f"{topic_prefix}streamwise-{pipeline}"


# Producer settings every client writing to Tansu needs: its watermarks count batches,
# not records, and a stateful app that restarts dies with InvalidStoreChangelogOffset
# unless each batch holds one record.
TANSU_PRODUCER_CONFIG: dict[str, str | int] = {"batch.num.messages": 1}


def engine_producer_config(settings: StreamwiseSettings) -> dict[str, Any]:
    """What producers need on top of ``client_config`` for the configured broker engine."""
    return dict(TANSU_PRODUCER_CONFIG) if settings.broker_engine == "tansu" else {}


def client_config(settings: StreamwiseSettings) -> dict[str, Any]:
    """librdkafka settings for plain clients (admin, producer, consumer) of this deployment.

    The first call per process and configuration connects once, so a broker that
    refuses us fails every verb in seconds with the reason (``BrokerRefused``).
    """
    if not settings.broker:
        msg = "STREAMWISE_BROKER is not set and no embedded broker is running"
        raise BrokerNotConfigured(msg)
    config = {"bootstrap.servers": settings.broker, **kafka_client_config()}
    identity = frozenset(config.items())
    if identity not in _VERIFIED and _accepted(config):
        _VERIFIED.add(identity)
    return {**config, "logger": LIBRDKAFKA_LOGGER}


def _accepted(config: dict[str, str]) -> bool:
    """True once the broker answers a metadata request; False if it does not answer in time
    (callers report unreachable brokers as they always have); ``BrokerRefused`` if it refuses."""
    refusals: list[KafkaError] = []
    admin = AdminClient(
        {
            **config,
            "logger": LIBRDKAFKA_LOGGER,
            "error_cb": lambda err: refusals.append(err) if err.code() in _REFUSALS else None,
        }
    )
    deadline = time.monotonic() + VERIFY_TIMEOUT_S
    while time.monotonic() < deadline:
        admin.poll(0.1)  # serves error_cb
        if refusals:
            # "sasl_ssl://host:port/bootstrap: <reason> (after 9ms in state X)" -> "<reason>"
            reason = refusals[0].str().split(": ", 1)[-1].split(" (after ")[0]
            msg = f"broker {config['bootstrap.servers']} refused the connection: {reason}"
            raise BrokerRefused(msg)
        try:
            admin.list_topics(timeout=0.5)
        except KafkaException:
            continue
        return True
    return False


def cluster_id(config: dict[str, Any], timeout_s: float = 5.0) -> str | None:
    """The id of the cluster behind ``config``'s brokers; ``None`` if none answers in time."""
    try:
        found = AdminClient({**config, "logger": LIBRDKAFKA_LOGGER}).list_topics(timeout=timeout_s)
    except KafkaException:
        return None
    return str(found.cluster_id) if found.cluster_id else None


def producer_config(settings: StreamwiseSettings) -> dict[str, Any]:
    """``client_config`` plus what every producer needs: the Java client's partitioner
    (keys land where Quix and Java producers put them, so joins stay co-partitioned)
    and the broker engine's quirks."""
    return {
        **client_config(settings),
        "partitioner": "murmur2_random",
        **engine_producer_config(settings),
    }


def create_registry_topics(
    settings: StreamwiseSettings, names: Iterable[str] | None = None
) -> list[str]:
    """Create the registry topics of ``names`` (all by default) the broker lacks, as this
    deployment sizes them; return the names created.

    Every client of ours that writes or reads a contract topic calls this first, for the
    topics it uses: the brokers we start never auto-create topics, and a topic the
    user's broker would auto-create gets one partition and the ``delete`` policy, which
    breaks joins. Only its own: under least-privilege ACLs a client sees no other topic
    and would take it for missing.
    """
    wanted = None if names is None else {settings.topic_prefix + name for name in names}
    return ensure_topics(
        client_config(settings),
        [s for s in all_topics(settings.topic_prefix) if wanted is None or s.name in wanted],
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
    )
