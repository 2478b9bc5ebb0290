"""The semantic-search sink: enriched items upserted into one Chroma collection.

Delivery: at-least-once with an exactly-once effect. Ids are feedback ids and writes
are upserts, so a batch replayed after a failed checkpoint replaces itself. An outage
(``VectorStoreUnavailable``) becomes backpressure: Quix pauses the partitions and
replays the batch later; nothing is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch

from models import Embedder
from pipelines.common.epoch import to_ms
from pipelines.feedback.enrich import Enriched
from state.vectors import MetadataInput, VectorCollection, VectorRecord, VectorStoreUnavailable

logger = logging.getLogger(__name__)


def to_record(item: Enriched, vector: Sequence[float]) -> VectorRecord:
    """The stored form: masked text, its vector, and what the dashboard filters and shows."""
    event = item.event
    metadata: dict[str, MetadataInput] = {
        "ts": event.ts.isoformat(),
        "ts_ms": to_ms(event.ts),
        "source": event.source,
        "sentiment": event.sentiment,
        "sentiment_score": event.sentiment_score,
        "category": event.category,
        "key_phrases": event.key_phrases,
        "rating": event.rating,
        "customer_id": event.customer_id,
        "model": event.model,
    }
    return VectorRecord(event.feedback_id, vector, event.text, metadata)


class FeedbackVectorSink(BatchingSink):
    """Upserts each checkpoint's enriched items; embeds (in one call) only what came
    without a vector, i.e. answers served from the cache."""

    def __init__(
        self,
        open_collection: Callable[[], VectorCollection],
        embedder: Embedder,
        *,
        backoff_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._open, self._embedder, self._backoff_s = open_collection, embedder, backoff_s
        self._collection: VectorCollection | None = None

    def setup(self) -> None:
        """Open the collection now: a missing or mismatched Chroma fails at start-up."""
        self._collection = self._open()

    def write(self, batch: SinkBatch) -> None:
        if self._collection is None:
            msg = "FeedbackVectorSink.write called before setup()"
            raise RuntimeError(msg)
        items: list[Enriched] = [sink_item.value for sink_item in batch]
        missing = [item for item in items if item.vector is None]
        fresh = dict(
            zip(
                (item.event.feedback_id for item in missing),
                self._embedder.embed([item.event.text for item in missing]),
                strict=True,
            )
        )
        records = [to_record(item, item.vector or fresh[item.event.feedback_id]) for item in items]
        try:
            self._collection.upsert(records)
        except VectorStoreUnavailable as exc:
            logger.warning("chroma unavailable, retry in %ss: %s", self._backoff_s, exc)
            raise SinkBackpressureError(retry_after=self._backoff_s) from exc
