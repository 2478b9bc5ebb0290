"""The Quix ``Application`` the factory builds: Quix plus the hooks it has no public API for.

``app.make_app`` wires it from settings; this module holds only what the processing loop
does differently from Quix's own (see the class docstring), on private Quix 3.28 APIs
that ``tests/common`` guard.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from quixstreams.dataframe import StreamingDataFrame
from quixstreams.error_callbacks import ConsumerErrorCallback, default_on_consumer_error
from quixstreams.models import TimestampExtractor, TopicConfig
from quixstreams.models.serializers import DeserializerType, SerializerType
from quixstreams.models.topics import Topic
from quixstreams.sources import BaseSource

from pipelines.common.checkpoints import DroppingCheckpoints
from pipelines.common.dlq import DECODE_STAGE, stage
from pipelines.common.metrics import PipelineMetrics
from pipelines.common.serialization import EventDeserializer

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
