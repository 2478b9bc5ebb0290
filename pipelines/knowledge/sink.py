"""The sink of the knowledge sync: applies each checkpoint's sync plans to Chroma.

Delivery: at-least-once with an exactly-once effect. Plans are applied at each
checkpoint, before the sync's state and offsets are committed; every write is an
upsert or delete by deterministic id, so re-applying a batch after a crash or a
backpressure pause leaves the same index. A Chroma outage becomes backpressure:
Quix pauses the partitions, rewinds to the last commit and retries later, so no
change is ever dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from quixstreams.models import HeadersTuples
from quixstreams.sinks import BaseSink

from models import Embedder
from pipelines.common.sinks.backpressure import DestinationOutage
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.sync import SyncPlan
from state.vectors import VectorStoreUnavailable

logger = logging.getLogger(__name__)

SINK_STEP = "sink=chroma"


class KnowledgeSink(BaseSink):
    """Applies the plans of one checkpoint, from every partition, with one embedding call.

    Quix's ``BatchingSink`` writes partition by partition; documents are keyed by
    ``doc_id``, so no two partitions hold the same document and their plans can go
    to Chroma together. One batched ``encode`` over all new texts keeps the model
    as busy as a raw ``encode`` of the same texts would (measured in ``bench/``).
    """

    def __init__(
        self,
        connect: Callable[[], KnowledgeIndex],
        embedder: Embedder,
        *,
        backoff_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._connect, self._embedder = connect, embedder
        self._outage = DestinationOutage(SINK_STEP, "chroma", "the sync", backoff_s)
        self._index: KnowledgeIndex | None = None
        self._pending: list[SyncPlan] = []
        self.embedded = 0
        self.applied = 0

    def setup(self) -> None:
        """Connect to Chroma and fail fast if it is unreachable (called by ``app.run``)."""
        self._index = self._connect()

    def add(  # noqa: PLR0917 - Quix calls it with these positional arguments
        self,
        value: Any,
        key: Any,
        timestamp: int,
        headers: HeadersTuples,
        topic: str,
        partition: int,
        offset: int,
    ) -> None:
        self._pending.append(value)

    def flush(self) -> None:
        """Apply what this checkpoint planned, in stream order per document."""
        plans, self._pending = self._pending, []
        if not plans:
            return
        index = self._index or self._connect()
        started = time.perf_counter()
        try:
            embedded = index.apply(plans, self._embedder)
        except VectorStoreUnavailable as exc:
            raise self._outage.backpressure(exc) from exc
        self._outage.available()
        self.embedded += embedded
        self.applied += len(plans)
        logger.info(
            "applied %d change(s), embedded %d text(s) in %.2fs",
            len(plans), embedded, time.perf_counter() - started,
        )  # fmt: skip

    def on_paused(self) -> None:
        """Backpressure rewinds the partitions to their last commit: drop what is pending."""
        self._pending.clear()
