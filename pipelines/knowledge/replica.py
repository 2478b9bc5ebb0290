"""An in-process replica of the live chunks, refreshed from Chroma by the manifest.

Why not ask Chroma for the nearest chunks? Embedded Chroma keeps its HNSW index
in the memory of the process that writes it: a second process (the RAG pipeline
next to the sync) sees new records through ``get`` but not through ``query``
until it restarts (measured with chromadb 1.5). The replica works the same in
both deployments: on every refresh it reads the manifest (one small ``get``),
fetches the chunks of documents whose applied version changed, drops those of
deleted documents, and rebuilds the exact dense matrix and BM25 only when
something changed. Its contents are therefore exactly the chunk sets the
manifest lists: nothing stale, nothing half-applied.

Memory: one float32 vector per live chunk (1.5 KiB with all-MiniLM-L6-v2).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from models import Embedder
from pipelines.knowledge.index import KnowledgeIndex, Manifest
from pipelines.knowledge.retrieval import Bm25, Passage
from state.vectors import StoredRecord


@dataclass(frozen=True)
class Snapshot:
    """The live chunks at one manifest, ready to search."""

    manifest: Manifest
    versions: dict[str, int]  # per document, the version whose chunks are in ``passages``
    passages: tuple[Passage, ...]
    vectors: NDArray[np.float32]
    bm25: Bm25


class SnapshotSource(Protocol):
    """What answering needs of a replica: the live chunks, current as of the call."""

    def refresh(self) -> Snapshot: ...


class KnowledgeReplica:
    """Live chunks and their vectors, kept equal to the manifest (thread-safe)."""

    def __init__(self, index: KnowledgeIndex, embedder: Embedder) -> None:
        self._index, self._embedder, self._dimension = index, embedder, embedder.dimension
        self._versions: dict[str, int] = {}
        self._chunks: dict[str, list[tuple[Passage, tuple[float, ...]]]] = {}
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def refresh(self) -> Snapshot:
        """Bring the replica up to the current manifest and return it."""
        with self._lock:
            manifest = self._index.manifest()
            live = {d: doc for d, doc in manifest.documents.items() if not doc.deleted}
            changed = [d for d, doc in live.items() if self._versions.get(d) != doc.version]
            gone = [d for d in self._versions if d not in live]
            for doc_id in gone:
                self._versions.pop(doc_id)
                self._chunks.pop(doc_id, None)
            if changed:
                wanted = [cid for d in changed for cid in live[d].chunk_ids]
                found = self._fetch(wanted)
                for doc_id in changed:
                    doc = live[doc_id]
                    records = [found[c] for c in doc.chunk_ids if c in found]
                    if len(records) < len(doc.chunk_ids):
                        continue  # written after this manifest read: taken at the next refresh
                    self._chunks[doc_id] = [
                        (Passage(r.id, doc_id, doc.title, r.document), r.vector or ())
                        for r in records
                    ]
                    self._versions[doc_id] = doc.version
            if self._snapshot is None or changed or gone:
                self._snapshot = self._build(manifest)
            else:
                self._snapshot = Snapshot(
                    manifest,
                    dict(self._versions),
                    self._snapshot.passages,
                    self._snapshot.vectors,
                    self._snapshot.bm25,
                )
            return self._snapshot

    def _fetch(self, ids: list[str]) -> dict[str, StoredRecord]:
        """Chunks with their vectors; re-embedded here when Chroma cannot return them.

        Embedded Chroma serves vectors written by another process only after a
        restart (``get`` with embeddings fails with "Error finding id"; measured
        with chromadb 1.5), while texts and metadata are always current. The same
        model embeds the same text to the same vector, so re-embedding is exact
        up to float rounding; it costs this process the embedding time.

        Not ``state.chroma.reopen`` (what the dashboard's search uses): reopening while
        the sync writes from its own process crashed the reader with a segfault in 5 of
        6 runs of a concurrent-write loop (chromadb 1.5.9), where ``get`` of texts on
        the shared client never did.
        """
        from chromadb.errors import ChromaError  # noqa: PLC0415 - heavy, loaded with Chroma

        try:
            records = self._index.chunks.get(ids=ids, with_vectors=True)
        except ChromaError:
            plain = self._index.chunks.get(ids=ids)
            vectors = self._embedder.embed([r.document for r in plain])
            records = [replace(r, vector=tuple(v)) for r, v in zip(plain, vectors, strict=True)]
        return {r.id: r for r in records}

    def _build(self, manifest: Manifest) -> Snapshot:
        items = [item for doc_id in sorted(self._chunks) for item in self._chunks[doc_id]]
        passages = tuple(p for p, _ in items)
        vectors = (
            np.asarray([v for _, v in items], dtype=np.float32)
            if items
            else np.zeros((0, self._dimension), dtype=np.float32)
        )
        return Snapshot(
            manifest, dict(self._versions), passages, vectors, Bm25([p.text for p in passages])
        )
