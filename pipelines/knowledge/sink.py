"""The sink of the knowledge sync: applies batches of sync plans to Chroma.

Delivery: at-least-once with an exactly-once effect. Plans are applied at each
checkpoint, before the sync's state and offsets are committed; every write is an
upsert or delete by deterministic id, so re-applying a batch after a crash or a
backpressure pause leaves the same index. A Chroma outage becomes backpressure:
Quix pauses the partitions, rewinds to the last commit and retries later, so no
change is ever dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch

from models import Embedder
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.sync import SyncPlan
from state.vectors import VectorStoreUnavailable

logger = logging.getLogger(__name__)


class KnowledgeSink(BatchingSink):
    """Applies the plans of one checkpoint with one batched embedding call per partition."""

    def __init__(
        self,
        connect: Callable[[], KnowledgeIndex],
        embedder: Embedder,
        *,
        backoff_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._connect, self._embedder, self._backoff_s = connect, embedder, backoff_s
        self._index: KnowledgeIndex | None = None
        self.embedded = 0
        self.applied = 0

    def setup(self) -> None:
        """Connect to Chroma and fail fast if it is unreachable (called by ``app.run``)."""
        self._index = self._connect()

    def write(self, batch: SinkBatch) -> None:
        index = self._index or self._connect()
        plans: list[SyncPlan] = [item.value for item in batch]
        try:
            self.embedded += index.apply(plans, self._embedder)
        except VectorStoreUnavailable as exc:
            logger.warning("chroma unavailable, retry in %ss: %s", self._backoff_s, exc)
            raise SinkBackpressureError(retry_after=self._backoff_s) from exc
        self.applied += len(plans)
        logger.info("applied %d change(s) from %s[%d]", len(plans), batch.topic, batch.partition)
