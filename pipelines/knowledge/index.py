"""The knowledge index in Chroma: document chunks, and a manifest of applied versions.

Two collections. ``kb-chunks`` holds one record per chunk (id ``doc:position:hash``,
metadata ``doc_id``, ``position``, ``title``). ``kb-documents`` is the manifest: one
record per document with the version the index has applied, whether it was a
deletion and the ids of its chunks. The manifest is only ever read by id, so its
vector is a fixed unit placeholder (every Chroma record needs one): embedding the
titles cost the sync model time for vectors nobody searched. The manifest is
written last, after the chunks, so a reader that sees version *v* in it finds
every chunk of *v* stored; and readers keep only hits listed in it, so a chunk of
an older or deleted version is never cited, even in the moment between a write
and its cleanup.

This is how a separate process (the RAG pipeline) knows what the index holds,
without reading the sync's private state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models import Embedder
from pipelines.common import backends
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.settings import KnowledgeSettings
from pipelines.knowledge.sync import SyncPlan
from state.documents import AppliedDocument
from state.vectors import MetadataValue, VectorCollection, VectorRecord


@dataclass(frozen=True)
class Manifest:
    """What the index has applied, per document (deleted documents included)."""

    documents: dict[str, AppliedDocument]

    @property
    def index_version(self) -> int:
        """Sum of applied versions: grows with every applied change, unchanged by replays."""
        return sum(doc.version for doc in self.documents.values())

    def live_chunk_ids(self) -> set[str]:
        return {cid for doc in self.documents.values() for cid in doc.chunk_ids}

    def missing(self, min_versions: dict[str, int]) -> dict[str, int | None]:
        """Documents not yet applied at the wanted version: doc id -> version applied (or None)."""
        out: dict[str, int | None] = {}
        for doc_id, wanted in min_versions.items():
            doc = self.documents.get(doc_id)
            if doc is None or doc.version < wanted:
                out[doc_id] = doc.version if doc is not None else None
        return out


def _applied_from(metadata: dict[str, MetadataValue], doc_id: str) -> AppliedDocument:
    raw_ids = metadata.get("chunk_ids", "[]")
    return AppliedDocument(
        version=int(metadata["version"]),
        deleted=bool(metadata.get("deleted", False)),
        title=str(metadata.get("title", "")),
        chunk_ids=tuple(json.loads(str(raw_ids))) if raw_ids else (),
    )


class KnowledgeIndex:
    """Reads and writes of the two collections; writes are idempotent upserts and deletes."""

    def __init__(self, chunks: VectorCollection, documents: VectorCollection) -> None:
        self.chunks, self.documents = chunks, documents

    @classmethod
    def open(cls, settings: StreamwiseSettings, knowledge: KnowledgeSettings) -> KnowledgeIndex:
        return cls(
            backends.vector_collection(settings, knowledge.chunks_collection),
            backends.vector_collection(settings, knowledge.documents_collection),
        )

    def applied(self, doc_id: str) -> AppliedDocument | None:
        """The manifest's record of ``doc_id`` (used when the sync's state has none)."""
        found = self.documents.get(ids=[doc_id])
        return _applied_from(found[0].metadata, doc_id) if found else None

    def manifest(self, doc_ids: Iterable[str] | None = None) -> Manifest:
        """The manifest, whole or for ``doc_ids`` only."""
        ids = list(doc_ids) if doc_ids is not None else None
        records = self.documents.get(ids=ids)
        return Manifest({r.id: _applied_from(r.metadata, r.id) for r in records})

    def apply(self, plans: Sequence[SyncPlan], embedder: Embedder) -> int:
        """Carry out ``plans`` in stream order; return how many texts were embedded.

        Every chunk text that needs a vector is embedded in one batched call; moved
        content reuses its stored vector. The net effect of the batch is written as one
        upsert and one delete of chunks, then the manifest.
        """
        if not plans:
            return 0
        stored = self._stored_vectors({old for p in plans for old in p.reuse.values()})
        needed: list[str] = []
        for plan in plans:
            for chunk in plan.write:
                source = plan.reuse.get(chunk.chunk_id)
                if source is None or source not in stored:
                    needed.append(chunk.text)
        unique = list(dict.fromkeys(needed))
        by_text = dict(zip(unique, embedder.embed(unique), strict=True))

        upserts: dict[str, VectorRecord] = {}
        deletes: set[str] = set()
        manifest: dict[str, VectorRecord] = {}
        placeholder = manifest_vector(embedder.dimension)
        for plan in plans:
            for chunk in plan.write:
                source = plan.reuse.get(chunk.chunk_id)
                vector = stored[source] if source in stored else by_text[chunk.text]
                deletes.discard(chunk.chunk_id)
                upserts[chunk.chunk_id] = VectorRecord(
                    id=chunk.chunk_id,
                    vector=vector,
                    document=chunk.text,
                    metadata={
                        "doc_id": chunk.doc_id,
                        "position": chunk.position,
                        "title": plan.applied.title,
                    },
                )
            for old in plan.delete:
                upserts.pop(old, None)
                deletes.add(old)
            applied = plan.applied
            manifest[plan.doc_id] = VectorRecord(
                id=plan.doc_id,
                vector=placeholder,
                document=applied.title,
                metadata={
                    "version": applied.version,
                    "deleted": applied.deleted,
                    "title": applied.title,
                    "chunk_ids": list(applied.chunk_ids),
                },
            )
        self.chunks.upsert(list(upserts.values()))
        self.chunks.delete(sorted(deletes))
        self.documents.upsert(list(manifest.values()))
        return len(unique)

    def _stored_vectors(self, ids: set[str]) -> dict[str, Sequence[float]]:
        if not ids:
            return {}
        return {
            r.id: r.vector
            for r in self.chunks.get(ids=sorted(ids), with_vectors=True)
            if r.vector is not None
        }


def manifest_vector(dimension: int) -> list[float]:
    """The manifest records' vector: a unit vector, valid in any distance space."""
    return [1.0] + [0.0] * (dimension - 1)
