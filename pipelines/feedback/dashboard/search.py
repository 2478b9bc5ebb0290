"""The dashboard's semantic search: past feedback nearest to a query, from Chroma.

The query is PII-masked before it is embedded. This module is the one place of the
dashboard's workaround for embedded Chroma not showing another process's writes:
``Search._collection`` reopens the files on every search.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from pipelines.common import backends
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.text.pii import mask_pii
from state.chroma import connect_chroma
from state.vectors import Hit, VectorCollection

SEARCH_RESULTS = 8


class Search:
    """Semantic search over past feedback; the embedder loads on first use.

    With a Chroma server every search asks it directly. Embedded Chroma is written by
    the pipeline's process, and a client keeps the index it loaded, so with ``reopen``
    each search opens the files afresh (a fraction of a second for a feedback-sized
    collection) instead of answering from a stale copy. Reopening resets chromadb's
    process-wide client cache, so only a process of its own (``serve``) may do it.
    """

    def __init__(self, settings: StreamwiseSettings, collection: str, *, reopen: bool) -> None:
        self._settings, self._collection_name = settings, collection
        self._reopen = reopen and settings.chroma_host is None
        self._lock = threading.Lock()

    def _collection(self) -> VectorCollection:
        if not self._reopen:
            return backends.vector_collection(self._settings, self._collection_name)
        from chromadb.api.shared_system_client import SharedSystemClient  # noqa: PLC0415

        SharedSystemClient.clear_system_cache()
        model = backends.embedder(self._settings)
        return VectorCollection.open(
            connect_chroma(self._settings.data_dir),
            self._settings.topic_prefix + self._collection_name,
            embedding_model_id=model.model_id,
            dimension=model.dimension,
        )

    def __call__(self, query: str) -> list[dict[str, Any]]:
        with self._lock:
            vector = backends.embedder(self._settings).embed([mask_pii(query)])[0]
            collection = self._collection()
            if collection.count() == 0:
                return []
            hits = collection.query(vector, k=min(SEARCH_RESULTS, collection.count()))
        return [_hit_json(hit) for hit in hits]


def _hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit as the page shows it, ``key_phrases`` a list as in ``feedback-enriched``.

    Chroma keeps a list in metadata as JSON text (``state.vectors``), so it is decoded
    here rather than handed out as a string.
    """
    metadata: dict[str, Any] = dict(hit.metadata)
    if isinstance(metadata.get("key_phrases"), str):
        metadata["key_phrases"] = orjson.loads(metadata["key_phrases"])
    return {"feedback_id": hit.id, "score": round(hit.score, 3), "text": hit.document, **metadata}
