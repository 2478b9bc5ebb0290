"""The one application factory: a Quix ``Application`` for a pipeline, from settings.

Every pipeline gets the same wiring: its own consumer group and state folder
under the data dir, fast group joins, event-time topics from the registry, the
configured processing guarantee, security settings passed through, topics
created up front, and its dead-letter topic hooked into Quix's error callbacks.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quixstreams.dataframe import StreamingDataFrame
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models.serializers import Serializer
from quixstreams.models.topics import Topic

from pipelines.common.access import PIPELINE_ACCESS, pipeline_topics, transactional_id_prefix
from pipelines.common.admin import TopicsUnusable, ensure_topics
from pipelines.common.clients import (
    LIBRDKAFKA_LOGGER,
    client_config,
    cluster_id,
    create_registry_topics,
    engine_producer_config,
    pipeline_group,
    producer_config,
)
from pipelines.common.dlq import DeadLetters
from pipelines.common.events import Event
from pipelines.common.metrics import PipelineMetrics, serving
from pipelines.common.origin import stamp_origin, without_origin
from pipelines.common.outage import (
    WAITING_OUT,
    BrokerOutage,
    outage_budget_s,
    pipeline_meanwhile,
)
from pipelines.common.serialization import (
    EventDeserializer,
    KeyedRecord,
    KeyedRecordSerializer,
    OriginalBytesSerializer,
)
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.state_memory import bounded_rocksdb_options
from pipelines.common.stops import explain
from pipelines.common.streamwise_app import StreamwiseApplication
from pipelines.common.topic_checks import BrokerTopic, cleanup_mismatch, copartition_mismatch
from pipelines.common.topics import TopicSpec, dlq_name, joined_topics, quix_topic, spec

logger = logging.getLogger(__name__)

# Consumer-group joins take about half the session timeout; keep both short so a
# pipeline (or a replica taking over) starts in seconds, not tens of seconds.
# Pipelines with joins consume in time-aligned batches: Quix waits up to the poll
# timeout for a full batch, so its default of 1 s becomes 1 s of latency at low rates.
# At 10 ms the fraud pipeline's p50 at 1,000 tx/s fell from 43 to 13 ms (bench/fraud)
# with the same backlog throughput; an idle pipeline then uses about 1 % of a core.
POLL_TIMEOUT_S = 0.01

FAST_GROUP_CONFIG = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}


def _processing_time_ms(value: Any, key: Any, timestamp_ms: int, headers: Any) -> int:
    return time.time_ns() // 1_000_000


def _not_ahead(timestamp_ms: int) -> int:
    """``timestamp_ms``, but never later than now.

    Brokers reject a record timestamp too far in the future (Kafka 4: one hour by
    default), so one producer's wrong clock, written on to an internal or output topic,
    would otherwise stop the pipeline.
    """
    return min(timestamp_ms, time.time_ns() // 1_000_000)


def _not_ahead_ms(value: Any, key: Any, timestamp_ms: int, headers: Any) -> int:
    return _not_ahead(timestamp_ms)


def _record_time_ms(record: KeyedRecord, key: Any, timestamp_ms: int, headers: Any) -> int:
    return _not_ahead(record.ts_ms)


@dataclass(frozen=True)
class PipelineApp:
    """A pipeline's Quix application and the pieces built with it."""

    name: str
    app: StreamwiseApplication
    settings: StreamwiseSettings
    dead_letters: DeadLetters
    outage: BrokerOutage | None = None
    _declared: dict[str, BrokerTopic] = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> PipelineMetrics:
        return self.app.metrics

    def topic(self, name: str, *, value_serializer: Serializer | None = None) -> Topic:
        """The registry's topic ``name`` as this deployment names and sizes it.

        Raises ``TopicsUnusable`` (one line, with the fix) if the broker holds it with
        another cleanup policy, or not co-partitioned with a topic it is joined with:
        before Quix's own errors, which name neither the cause nor the fix.
        """
        if name not in pipeline_topics(self.name):
            msg = (
                f"pipeline {self.name} uses topic {name} without declaring it in "
                "pipelines/common/access.py: its ACLs would not grant it"
            )
            raise TopicsUnusable(msg)
        topic_spec = spec(name).prefixed(self.settings.topic_prefix)
        topic = quix_topic(
            self.app,
            topic_spec,
            partitions=self.settings.partitions,
            replication_factor=self.settings.replication_factor,
            value_serializer=value_serializer,
        )
        self._check_usable(topic_spec, topic)
        return topic

    def connector_topic(self, name: str, *, named_by: str) -> Topic:
        """A topic another tool writes (a CDC connector's), read as raw key and value bytes.

        Debezium creates a table's topic with the table's first change, so a table still
        empty when the connector started has none yet. It is created here then, sized
        like ours, with one warning naming it and ``named_by``, the setting that names
        it (a misspelt name shows there, as a topic nothing ever writes to).
        """
        connection = {k: v for k, v in client_config(self.settings).items() if k != "logger"}
        created = ensure_topics(
            connection, [TopicSpec(name, None, None)], partitions=self.settings.partitions,
            replication_factor=self.settings.replication_factor,
        )  # fmt: skip
        if created:
            logger.warning(
                "pipeline %s: topic %s (%s) did not exist and was created; the connector "
                "writes to it with its table's first change",
                self.name, name, named_by,
            )  # fmt: skip
        return self.app.topic(name, value_deserializer="bytes", key_deserializer="bytes")

    def _check_usable(self, topic_spec: TopicSpec, topic: Topic) -> None:
        held = topic.broker_config
        self._declared[topic_spec.name] = BrokerTopic(
            partitions=held.num_partitions or 0,
            cleanup_policy=held.extra_config.get("cleanup.policy"),
        )
        groups = [
            g for g in joined_topics(self.settings.topic_prefix) if set(g) <= self._declared.keys()
        ]
        problems = [cleanup_mismatch(topic_spec, self._declared[topic_spec.name])]
        problems += [copartition_mismatch(group, self._declared) for group in groups]
        found = [problem for problem in problems if problem is not None]
        if found:
            msg = f"pipeline {self.name} cannot use its topics: {'; '.join(map(str, found))}"
            raise TopicsUnusable(msg)

    def regroup(
        self, sdf: StreamingDataFrame, key: Callable[[Any], Any], **options: Any
    ) -> StreamingDataFrame:
        """``sdf.group_by(key, **options)``, remembering where each message came from.

        After a repartition a message has a new key and comes from an internal topic; its
        origin headers (``origin.py``) let a dead letter still carry the producer's key
        and name the input topic, partition and offset, as the contract promises. Its
        event time goes on as its timestamp there, never later than now (``_not_ahead``).
        """
        return sdf.set_headers(stamp_origin).set_timestamp(_not_ahead_ms).group_by(key, **options)

    def rekeyed(
        self, name: str, model: type[Event], key: Callable[[Any], str], key_name: str
    ) -> StreamingDataFrame:
        """Topic ``name`` re-keyed by ``key`` (named ``key_name``), for a join by that key.

        Whoever produced it, two topics re-keyed here are partitioned alike: a topic keyed
        so by the contract may still come from a producer whose partitioner (librdkafka's
        default) puts a key elsewhere than Quix's murmur2. The producer's bytes travel
        through the internal topic, so a dead letter after it still carries them.
        """
        return self.regroup(
            self.app.dataframe(self.topic(name)), key, name=key_name,
            key_serializer="str", key_deserializer="str",
            value_serializer=OriginalBytesSerializer(), value_deserializer=EventDeserializer(model),
        )  # fmt: skip

    def publish(
        self, sdf: StreamingDataFrame, name: str, *, key: Callable[[Any], Any] | None = None
    ) -> StreamingDataFrame:
        """Send ``sdf`` to topic ``name``, stamped with the time of processing.

        Records keep their event time in the payload (``ts``); the Kafka timestamp
        of an output is when it was produced. Brokers reject timestamps too far in
        the future (Kafka 4: one hour by default), so stamping outputs with a
        skewed event time would turn one bad clock into a crashed pipeline. The
        internal origin headers of a repartitioned message stay inside the pipeline.
        """
        self._check_writes(name)
        stamped = sdf.set_timestamp(_processing_time_ms).set_headers(without_origin)
        return stamped.to_topic(self.topic(name), key=key)

    def publish_records(self, sdf: StreamingDataFrame, name: str) -> StreamingDataFrame:
        """Send a stream of ``KeyedRecord`` to topic ``name``: each its own key, value and time.

        A record's time is its event's (a database commit, say), never later than now:
        brokers reject timestamps too far in the future. A ``None`` value is a tombstone.
        """
        self._check_writes(name)
        stamped = sdf.set_timestamp(_record_time_ms).set_headers(without_origin)
        topic = self.topic(name, value_serializer=KeyedRecordSerializer())
        return stamped.to_topic(topic, key=lambda record: record.key)

    def _check_writes(self, name: str) -> None:
        if name not in PIPELINE_ACCESS[self.name].writes:
            msg = f"pipeline {self.name} publishes to {name}, not a topic it declares it writes"
            raise TopicsUnusable(msg)

    def run(self) -> None:
        """Run until SIGTERM, serving metrics and health on ``STREAMWISE_METRICS_PORT`` if set.

        Says on stderr that it runs: model loading and the group join can take minutes,
        and a silent terminal looks like a hang.
        """
        print(
            f"streamwise run {self.name}: running as consumer group "
            f"{self.app.config.consumer_group}; SIGTERM or Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        port = self.settings.metrics_port
        with contextlib.ExitStack() as stack:
            if port is not None:
                bound = stack.enter_context(serving(self.metrics, self.settings.metrics_host, port))
                self._announce_metrics_port(bound)
            try:
                self.app.run()
            except Exception as exc:
                explained = explain(exc, self.settings, self.outage)
                if explained is None:
                    raise
                raise explained from None
        if self.app.stopped_by is not None:
            raise self.app.stopped_by

    def _announce_metrics_port(self, port: int) -> None:
        """Write the port metrics are served on where a health check finds it.

        Replicas of a pipeline on one host network (``docker-compose --scale`` with host
        networking) cannot share a fixed port: with ``STREAMWISE_METRICS_PORT=0`` each
        takes a free one, and the image's health check reads it from this file.
        """
        run_dir = self.settings.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / f"{self.name}.metrics-port").write_text(f"{port}\n")


def make_app(
    pipeline: str,
    settings: StreamwiseSettings,
    *,
    consumer_group: str | None = None,
    commit_interval_s: float = 1.0,
    commit_every: int = 0,
    commit_when_caught_up: bool = False,
    on_message_processed: Callable[[str, int, int], None] | None = None,
) -> PipelineApp:
    """Build the application of ``pipeline``; creates missing topics (fails fast if unreachable).

    ``commit_when_caught_up`` commits whenever a poll finds nothing new, besides every
    ``commit_interval_s``: for pipelines whose sink does its work at the checkpoint.
    ``commit_every`` (messages, 0: no limit) commits sooner when that many have come in.
    """
    clients = client_config(settings)
    connection = {k: v for k, v in clients.items() if k != "logger"}
    create_registry_topics(settings, pipeline_topics(pipeline))
    dead_letters = DeadLetters(
        pipeline, settings.topic_prefix + dlq_name(pipeline), producer_config(settings)
    )
    WAITING_OUT.budget_s = budget_s = outage_budget_s(settings)
    outage = BrokerOutage(
        lambda: cluster_id(connection),
        lambda changed: app.stop_because(changed),  # noqa: PLW0108 - app is made below
        meanwhile=pipeline_meanwhile(budget_s),
    )
    outage.install()
    metrics = PipelineMetrics(
        pipeline, state_dir=settings.state_dir / pipeline, dead_letters=lambda: dead_letters.sent,
        outage=outage,
    )  # fmt: skip
    stats = metrics.client_stats_config()
    group = consumer_group or pipeline_group(pipeline, settings.topic_prefix)
    app = StreamwiseApplication(
        broker_address=ConnectionConfig.from_librdkafka_dict(connection),
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_interval=commit_interval_s,
        commit_every=commit_every,
        consumer_poll_timeout=POLL_TIMEOUT_S,
        consumer_extra_config={**FAST_GROUP_CONFIG, **stats, "logger": LIBRDKAFKA_LOGGER},
        producer_extra_config={
            **engine_producer_config(settings),
            **_transactional_id(group, settings),
            **_delivery_timeout(budget_s),
            **stats,
            "logger": LIBRDKAFKA_LOGGER,
        },
        state_dir=settings.state_dir / pipeline,
        rocksdb_options=bounded_rocksdb_options(settings.state_memory_mb),
        processing_guarantee=settings.processing_guarantee,
        on_consumer_error=dead_letters.on_consumer_error,
        on_processing_error=dead_letters.on_processing_error,
        on_message_processed=metrics.on_message_processed(on_message_processed),
        loglevel=None,  # Quix logs through ours: one format, STREAMWISE_LOG_LEVEL
        broker_availability_timeout=budget_s,
        metrics=metrics,
        shutdown_grace_s=settings.shutdown_grace_s,
        commit_when_caught_up=commit_when_caught_up,
    )
    return PipelineApp(pipeline, app, settings, dead_letters, outage)


def _delivery_timeout(budget_s: float) -> dict[str, int]:
    """Give up delivering after the outage budget: a checkpoint waits for its outputs, and
    librdkafka's 300 s default would keep the loop blocked past the budget."""
    return {"message.timeout.ms": int(budget_s * 1000)}


def _transactional_id(group: str, settings: StreamwiseSettings) -> dict[str, str]:
    """Under exactly-once, a ``transactional.id`` ACLs can grant: the group's prefix and a
    random suffix (Quix's own default is a bare UUID, which only a wildcard could grant;
    a fixed id would let replicas fence each other)."""
    if settings.processing_guarantee != "exactly-once":
        return {}
    return {"transactional.id": transactional_id_prefix(group) + uuid.uuid4().hex}
