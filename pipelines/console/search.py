"""The dashboard's semantic search: past feedback nearest to a query, from Chroma.

The query is PII-masked before it is embedded. The feedback pipeline writes the
collection from another process, so every search reads it through ``state.chroma.reopen``,
the one cross-process refresh.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from pipelines.common import backends
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.text.pii import mask_pii
from state import chroma
from state.vectors import Hit, VectorCollection

SEARCH_RESULTS = 8


class Search:
    """Semantic search over past feedback; the embedder loads on first use.

    With a Chroma server every search asks it directly. Embedded Chroma keeps the index
    a client loaded, so each search opens the files afresh (a fraction of a second for
    a feedback-sized collection) instead of answering from a stale copy.
    """

    def __init__(self, settings: StreamwiseSettings, collection: str) -> None:
        self._settings, self._collection_name = settings, collection
        self._lock = threading.Lock()

    def _collection(self) -> VectorCollection:
        return chroma.reopen(backends.vector_collection(self._settings, self._collection_name))

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
    text = mask_pii(hit.document)  # stored masked; masked again, as the view does
    return {"feedback_id": hit.id, "score": round(hit.score, 3), "text": text, **metadata}
