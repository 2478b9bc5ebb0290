"""The one application factory: a Quix ``Application`` for a pipeline, from settings.

Every pipeline gets the same wiring: its own consumer group and state folder
under the data dir, fast group joins, event-time topics from the registry, the
configured processing guarantee, security settings passed through, topics
created up front, and its dead-letter topic hooked into Quix's error callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quixstreams import Application
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models.topics import Topic

from pipelines.common.admin import ensure_topics
from pipelines.common.broker.tansu import TANSU_PRODUCER_CONFIG
from pipelines.common.dlq import DeadLetters
from pipelines.common.settings import StreamwiseSettings, kafka_client_config
from pipelines.common.topics import all_topics, dlq_name, quix_topic, spec

# Consumer-group joins take about half the session timeout; keep both short so a
# pipeline (or a replica taking over) starts in seconds, not tens of seconds.
FAST_GROUP_CONFIG = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


# librdkafka logs every refused connection to stderr; route it through logging
# instead, where it is quiet unless STREAMWISE_LOG_LEVEL asks for more.
LIBRDKAFKA_LOGGER = logging.getLogger("streamwise.librdkafka")


def _processing_time_ms(value: Any, key: Any, timestamp_ms: int, headers: Any) -> int:
    return time.time_ns() // 1_000_000


class BrokerNotConfigured(RuntimeError):
    """No broker address: set STREAMWISE_BROKER or let the CLI start the embedded one."""


def client_config(settings: StreamwiseSettings) -> dict[str, Any]:
    """librdkafka settings for plain clients (admin, producer, consumer) of this deployment."""
    if not settings.broker:
        msg = "STREAMWISE_BROKER is not set and no embedded broker is running"
        raise BrokerNotConfigured(msg)
    return {
        "bootstrap.servers": settings.broker,
        "logger": LIBRDKAFKA_LOGGER,
        **kafka_client_config(),
    }


def producer_config(settings: StreamwiseSettings) -> dict[str, Any]:
    """``client_config`` plus what every producer needs: the Java client's partitioner
    (keys land where Quix and Java producers put them, so joins stay co-partitioned)
    and the broker engine's quirks."""
    extra = TANSU_PRODUCER_CONFIG if settings.broker_engine == "tansu" else {}
    return {**client_config(settings), "partitioner": "murmur2_random", **extra}


@dataclass(frozen=True)
class PipelineApp:
    """A pipeline's Quix application and the pieces built with it."""

    name: str
    app: Application
    settings: StreamwiseSettings
    dead_letters: DeadLetters

    def topic(self, name: str) -> Topic:
        """The registry's topic ``name`` as this deployment names and sizes it."""
        return quix_topic(
            self.app,
            spec(name).prefixed(self.settings.topic_prefix),
            partitions=self.settings.partitions,
            replication_factor=self.settings.replication_factor,
        )

    def publish(
        self, sdf: StreamingDataFrame, name: str, *, key: Callable[[Any], Any] | None = None
    ) -> StreamingDataFrame:
        """Send ``sdf`` to topic ``name``, stamped with the time of processing.

        Records keep their event time in the payload (``ts``); the Kafka timestamp
        of an output is when it was produced. Brokers reject timestamps too far in
        the future (Kafka 4: one hour by default), so stamping outputs with a
        skewed event time would turn one bad clock into a crashed pipeline.
        """
        stamped = sdf.set_timestamp(_processing_time_ms)
        return stamped.to_topic(self.topic(name), key=key)

    def run(self) -> None:
        self.app.run()


def make_app(
    pipeline: str,
    settings: StreamwiseSettings,
    *,
    consumer_group: str | None = None,
    commit_interval_s: float = 1.0,
    on_message_processed: Callable[[str, int, int], None] | None = None,
) -> PipelineApp:
    """Build the application of ``pipeline``; creates missing topics (fails fast if unreachable)."""
    clients = client_config(settings)
    connection = {k: v for k, v in clients.items() if k != "logger"}
    ensure_topics(
        clients,
        all_topics(settings.topic_prefix),
        partitions=settings.partitions,
        replication_factor=settings.replication_factor,
    )
    dead_letters = DeadLetters(
        pipeline, settings.topic_prefix + dlq_name(pipeline), producer_config(settings)
    )
    producer_extra = TANSU_PRODUCER_CONFIG if settings.broker_engine == "tansu" else {}
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(connection),
        consumer_group=consumer_group or f"streamwise-{pipeline}",
        auto_offset_reset="earliest",
        commit_interval=commit_interval_s,
        consumer_extra_config={**FAST_GROUP_CONFIG, "logger": LIBRDKAFKA_LOGGER},
        producer_extra_config={**producer_extra, "logger": LIBRDKAFKA_LOGGER},
        state_dir=settings.state_dir / pipeline,
        processing_guarantee=settings.processing_guarantee,
        on_consumer_error=dead_letters.on_consumer_error,
        on_processing_error=dead_letters.on_processing_error,
        on_message_processed=on_message_processed,
        loglevel=settings.log_level,
    )
    return PipelineApp(pipeline, app, settings, dead_letters)
