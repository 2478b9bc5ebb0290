"""Checkpoints an outage took from us, dropped instead of crashing on them.

Quix commits a checkpoint (state, outputs, offsets) every ``commit_interval``. An outage
breaks that in three ways Quix does not survive: the commit is refused while the
coordinator is away, it is refused after an outage longer than the session timeout
(the group moved on: Unknown member), and librdkafka reports the assignment *lost*,
upon which Quix closes the lost partitions' stores but keeps the checkpoint that still
writes to them (its next commit fails on a closed RocksDB). In each case the checkpoint
is dropped: its offsets were never committed, so after the rejoin the consumer resumes
from the last committed ones, restores the state from the changelogs, and processes
the dropped messages again (at-least-once; under exactly-once the transaction is
aborted). Private Quix 3.28 API: ``_processing_context`` and the rebalance callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from quixstreams import Application
from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError

logger = logging.getLogger(__name__)

COMMIT_LOST = frozenset({
    KafkaError.UNKNOWN_MEMBER_ID,  # the group moved on without us (session timed out)
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._WAIT_COORD,  # librdkafka's local codes: the broker is away
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
})  # fmt: skip
"""Commit refusals an outage or a rebalance explains: drop the checkpoint and rejoin."""


class DroppingCheckpoints(Application):
    """Quix's ``Application``, dropping the checkpoints an outage made uncommittable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commit = self._processing_context.commit_checkpoint
        self._processing_context.commit_checkpoint = self._commit_or_drop  # type: ignore[method-assign]

    def _commit_or_drop(self, force: bool = False, revoking: bool = False) -> None:
        """Commit the checkpoint; if the broker or the group refused it, drop it and rejoin."""
        try:
            self._commit(force=force, revoking=revoking)
        except (CheckpointConsumerCommitError, KafkaException) as exc:  # Kafka: exactly-once
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is None or error.code() not in COMMIT_LOST:
                raise
            self._drop_checkpoint(f"could not commit ({error.str()})", revoking=revoking)
            if not revoking:  # a revoke is a rejoin already
                self._rejoin()

    def _on_lost(self, consumer: Any, topic_partitions: list[Any]) -> None:
        """The assignment was lost (the session timed out): drop the checkpoint that writes
        to the lost partitions before Quix closes their stores; librdkafka rejoins."""
        self._drop_checkpoint("lost the group membership", revoking=True)
        super()._on_lost(consumer, topic_partitions)

    def _drop_checkpoint(self, reason: str, *, revoking: bool) -> None:
        logger.warning(
            "%s: dropping the uncommitted checkpoint and rejoining the group; its messages "
            "are processed again",
            reason,
        )
        for sink in self._sink_manager.sinks:  # what they hold is read again: forget it
            sink.on_paused()  # type: ignore[no-untyped-call]
        context = self._processing_context
        context.checkpoint.close(revoking=revoking)
        context.init_checkpoint()  # type: ignore[no-untyped-call]

    def _rejoin(self) -> None:
        """Leave and rejoin the group with Quix's own callbacks: revoke, assign, recover."""
        topics = self._dataframe_registry.consumer_topics + (
            self._topic_manager.changelog_topics_list
        )
        self._consumer.unsubscribe()  # type: ignore[no-untyped-call]
        self._consumer.subscribe(
            topics=topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )  # fmt: skip
