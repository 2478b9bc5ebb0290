"""The one application factory: a Quix ``Application`` for a pipeline, from settings.

Every pipeline gets the same wiring: its own consumer group and state folder
under the data dir, fast group joins, event-time topics from the registry, the
configured processing guarantee, security settings passed through, topics
created up front, and its dead-letter topic hooked into Quix's error callbacks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quixstreams.dataframe import StreamingDataFrame
from quixstreams.error_callbacks import ConsumerErrorCallback, default_on_consumer_error
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models import TimestampExtractor, TopicConfig
from quixstreams.models.serializers import DeserializerType, SerializerType
from quixstreams.models.topics import Topic
from quixstreams.sources import BaseSource

from pipelines.common.access import PIPELINE_ACCESS, pipeline_topics, transactional_id_prefix
from pipelines.common.admin import TopicsUnusable
from pipelines.common.checkpoints import DroppingCheckpoints
from pipelines.common.clients import (
    LIBRDKAFKA_LOGGER,
    client_config,
    cluster_id,
    create_registry_topics,
    engine_producer_config,
    pipeline_group,
    producer_config,
)
from pipelines.common.dlq import DECODE_STAGE, DeadLetters, stage
from pipelines.common.metrics import PipelineMetrics, serving
from pipelines.common.origin import stamp_origin, without_origin
from pipelines.common.outage import (
    WAITING_OUT,
    BrokerOutage,
    outage_budget_s,
    pipeline_meanwhile,
)
from pipelines.common.serialization import EventDeserializer
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.state_memory import bounded_rocksdb_options
from pipelines.common.stops import explain
from pipelines.common.topic_checks import BrokerTopic, cleanup_mismatch, copartition_mismatch
from pipelines.common.topics import TopicSpec, dlq_name, joined_topics, quix_topic, spec

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


EXIT_GRACE_EXCEEDED = 3
"""Exit code when a step outlived the shutdown grace period (nothing was committed)."""


class StreamwiseApplication(DroppingCheckpoints):
    """Quix's ``Application`` plus what Quix has no public hook for: per-message timing,
    health signals, a bounded shutdown, tombstones refused, skipped messages committed,
    and checkpoints an outage made uncommittable dropped (``DroppingCheckpoints``).

    On SIGTERM Quix stops the loop after the current message and commits the last
    checkpoint. A step stuck on a model or Chroma could delay that for minutes, past
    the orchestrator's own kill; instead, once ``shutdown_grace_s`` has passed the
    process exits with ``EXIT_GRACE_EXCEEDED`` *without* committing, so the
    unfinished messages are redone by whoever takes over (at-least-once).
    """

    def __init__(
        self,
        *args: Any,
        metrics: PipelineMetrics,
        shutdown_grace_s: float,
        on_consumer_error: ConsumerErrorCallback | None = None,
        commit_when_caught_up: bool = False,
        **kwargs: Any,
    ) -> None:
        self._handle_consumer_error = on_consumer_error or default_on_consumer_error
        super().__init__(*args, on_consumer_error=self._skip_message, **kwargs)
        self.metrics = metrics
        self._shutdown_grace_s = shutdown_grace_s
        self._composed: dict[str, Any] | None = None
        self._timed: dict[str, Any] = {}
        self._handled = 0  # messages handed to the dataflow so far
        self._commit_when_caught_up = commit_when_caught_up
        self._event_topics: dict[str, EventDeserializer] = {}
        self.stopped_by: Exception | None = None
        """Why the loop was stopped from inside (a changed cluster): raised after ``run``."""

    def produce_in_checkpoint(  # noqa: PLR0917 - a record's parts
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        timestamp: int,
    ) -> None:
        """Produce a record with the application's own producer (private Quix 3.28 API):
        it is flushed before the checkpoint commits its offsets, and under exactly-once
        it belongs to the checkpoint's transaction, committed or aborted with them."""
        self._producer.produce(topic, value=value, key=key, headers=headers,
                               partition=partition, timestamp=timestamp)  # fmt: skip

    def stop_because(self, reason: Exception) -> None:
        """Stop the loop as SIGTERM would (checkpoint committed), then raise ``reason``."""
        self.stopped_by = reason
        self.stop()

    def topic(  # noqa: PLR0917 - Quix's own signature
        self,
        name: str,
        value_deserializer: DeserializerType = "json",
        key_deserializer: DeserializerType = "bytes",
        value_serializer: SerializerType = "json",
        key_serializer: SerializerType = "bytes",
        config: TopicConfig | None = None,
        timestamp_extractor: TimestampExtractor | None = None,
    ) -> Topic:
        """Quix's ``topic``, remembering which topics carry events (see ``dataframe``)."""
        topic = super().topic(
            name, value_deserializer, key_deserializer, value_serializer, key_serializer,
            config, timestamp_extractor,
        )  # fmt: skip
        if isinstance(value_deserializer, EventDeserializer):
            self._event_topics[topic.name] = value_deserializer
        return topic

    def dataframe(
        self, topic: Topic | None = None, source: BaseSource | None = None
    ) -> StreamingDataFrame:
        """Quix's ``dataframe``; on a topic of events a null value (a tombstone) is poison.

        Quix passes a null value on as ``None`` without calling the deserializer, so
        the first step would fail on it with an error nobody can act on. It is refused
        here, first, and dead-lettered from the decode stage with a reason instead.
        """
        sdf = super().dataframe(topic, source)
        deserializer = self._event_topics.get(topic.name) if topic is not None else None
        if deserializer is None:
            return sdf
        return sdf.update(stage(DECODE_STAGE, deserializer.refuse_empty))

    def _skip_message(self, exc: Exception, message: Any, logger: logging.Logger) -> bool:
        """The consumer error callback, committing past a message it handled (dead-lettered).

        Quix (3.28) drops a message whose deserializer failed and the callback suppressed
        without storing its offset: the offset is committed only once a later message of
        the partition is processed. A dead letter that ends a partition would be sent again
        on every restart. The callback has flushed its dead letter when it returns, so the
        offset stored here is committed after it (at-least-once). Messages a step fails on
        need nothing: Quix stores their offset after ``on_processing_error`` suppressed it.
        """
        handled = self._handle_consumer_error(exc, message, logger)
        if handled and message is not None and message.error() is None:
            # Private Quix 3.28 API, the only way into the current checkpoint; with
            # exactly-once the checkpoint commits it in its transaction. Should Quix store
            # the offset itself one day, the checkpoint refuses a second store
            # (InvalidStoredOffset) and tests/common/test_dead_letter_commit.py fails.
            self._processing_context.store_offset(
                topic=message.topic(), partition=message.partition(), offset=message.offset()
            )
        return handled

    def _process_message(self, dataframe_composed: dict[str, Any]) -> None:
        self.metrics.heartbeat()
        self.metrics.processing()
        if dataframe_composed is not self._composed:  # composed once per run: wrap it once
            self._composed = dataframe_composed
            self._timed = {
                topic: self._counted(self.metrics.timed(fn))
                for topic, fn in dataframe_composed.items()
            }
        handled = self._handled
        super()._process_message(self._timed)  # type: ignore[no-untyped-call]
        if self._commit_when_caught_up and self._handled == handled:
            self._commit_caught_up()

    def _counted(self, step: Callable[..., None]) -> Callable[..., None]:
        def run(*args: Any) -> None:
            self._handled += 1
            step(*args)

        return run

    def _commit_caught_up(self) -> None:
        """The poll found nothing to handle: commit what the checkpoint holds now.

        Quix commits once ``commit_interval`` has passed since the last commit, so work a
        sink does at the checkpoint (the knowledge sync's encoding) starts at a random
        point after a burst arrives, a burst is split wherever the interval ends, and the
        rest of it waits a whole interval more. Measured on the knowledge sync of 243
        chunks, that idle time was a sixth of the sync. Committing as soon as the
        consumer has caught up starts the work when the burst is in; the interval still
        bounds a stream that never pauses. Private Quix 3.28 API: the processing context.
        """
        context = self._processing_context
        if not context.checkpoint.empty():
            context.commit_checkpoint(force=True)

    def _on_sigterm(self, *args: Any) -> None:
        self.metrics.stopping()
        watchdog = threading.Timer(self._shutdown_grace_s, self._give_up)
        watchdog.daemon = True
        watchdog.start()
        super()._on_sigterm(*args)  # type: ignore[no-untyped-call]

    def _give_up(self) -> None:
        logging.getLogger(__name__).error(
            "still busy %.0fs after SIGTERM (STREAMWISE_SHUTDOWN_GRACE_S): exiting without "
            "committing; unfinished messages will be processed again",
            self._shutdown_grace_s,
        )
        logging.shutdown()
        os._exit(EXIT_GRACE_EXCEEDED)


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

    def topic(self, name: str) -> Topic:
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
        )
        self._check_usable(topic_spec, topic)
        return topic

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
        and name the input topic, partition and offset, as the contract promises.
        """
        return sdf.set_headers(stamp_origin).group_by(key, **options)

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
        if name not in PIPELINE_ACCESS[self.name].writes:
            msg = f"pipeline {self.name} publishes to {name}, not a topic it declares it writes"
            raise TopicsUnusable(msg)
        stamped = sdf.set_timestamp(_processing_time_ms).set_headers(without_origin)
        return stamped.to_topic(self.topic(name), key=key)

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
    commit_when_caught_up: bool = False,
    on_message_processed: Callable[[str, int, int], None] | None = None,
) -> PipelineApp:
    """Build the application of ``pipeline``; creates missing topics (fails fast if unreachable).

    ``commit_when_caught_up`` commits whenever a poll finds nothing new, besides every
    ``commit_interval_s``: for pipelines whose sink does its work at the checkpoint.
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
