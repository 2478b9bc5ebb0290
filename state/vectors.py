"""The vector store: one Chroma collection per use, holding vectors the caller computed.

Three pipelines keep vectors here (fraud triage: past alert cases; feedback:
enriched items; knowledge: document chunks). This module never embeds text: the
embedding model is part of a collection's identity, so a collection built with
one model can never silently receive or answer with vectors from another.

Connecting to Chroma (embedded or a server) and reopening a collection to see
other processes' writes are ``state/chroma.py``'s job; this module takes a client.

Writes are upserts with full-replace semantics, so replaying a batch after a
failed checkpoint is harmless. Outages (connection refused or reset, timeouts,
rate limits) surface as :class:`VectorStoreUnavailable` so a sink can back off
and retry; every other error propagates unchanged.

Metadata: Chroma 1.5 takes str, int, float and bool values, and lists only when
non-empty and of one scalar type. So that every record is storable, keys whose
value is ``None`` are dropped and any list or dict is stored as a compact JSON
string with sorted keys (``["a","b"]``, ``{"k":1}``). Reads return those strings
as stored; decode them with ``json.loads`` where needed.
"""

# chromadb (heavy) and httpx (its HTTP client) are imported inside a function on purpose.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Metadata, Where

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

MetadataValue: TypeAlias = str | int | float | bool
"""What a stored metadata value can be."""

MetadataInput: TypeAlias = (
    MetadataValue | Sequence["MetadataInput"] | Mapping[str, "MetadataInput"] | None
)
"""What a caller may pass: ``None`` is dropped, sequences and mappings become JSON."""

WhereFilter: TypeAlias = Mapping[str, object]
"""A Chroma ``where`` filter, e.g. ``{"doc_id": "faq-7"}`` or ``{"version": {"$lt": 3}}``."""

_DISTANCE_SPACE = "cosine"


class VectorStoreError(Exception):
    """Base class of the errors this module raises."""


class VectorStoreUnavailable(VectorStoreError):
    """Chroma cannot be reached right now: retry later, never drop the data."""

    @classmethod
    def because(cls, what: str, exc: BaseException) -> VectorStoreUnavailable:
        """``what`` failed with ``exc``, in one line: logs and CLI errors are read line by line."""
        return cls(f"{what}: " + " ".join(f"{type(exc).__name__}: {exc}".split()))


class VectorStoreMismatch(VectorStoreError):
    """A collection holds vectors from another embedding model or dimension."""


@dataclass(frozen=True, slots=True)
class VectorRecord:
    """One item to store: a stable id, its vector, the text it came from, filterable metadata."""

    id: str
    vector: Sequence[float]
    document: str
    metadata: Mapping[str, MetadataInput] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One item as stored; ``vector`` is set only when asked for."""

    id: str
    document: str
    metadata: dict[str, MetadataValue]
    vector: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One query result; ``score`` is the cosine similarity (1 is identical)."""

    id: str
    score: float
    document: str
    metadata: dict[str, MetadataValue]


@cache
def _transient_errors() -> tuple[type[Exception], ...]:
    """Errors that mean "Chroma is unreachable or busy", as opposed to a bad request."""
    import httpx
    from chromadb.errors import RateLimitError

    return (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, RateLimitError)


@contextmanager
def _unavailable_on_outage(action: str) -> Iterator[None]:
    try:
        yield
    except _transient_errors() as exc:
        raise VectorStoreUnavailable.because(f"chroma unavailable during {action}", exc) from exc


def _to_chroma_metadata(metadata: Mapping[str, MetadataInput]) -> dict[str, MetadataValue]:
    """Drop ``None`` values and JSON-encode lists and dicts (see the module docstring)."""
    stored: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            stored[key] = value
        else:
            stored[key] = json.dumps(
                _jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
    return stored


def _jsonable(value: MetadataInput) -> object:
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_jsonable(item) for item in value]
    return value


def _from_chroma_metadata(metadata: Mapping[str, object] | None) -> dict[str, MetadataValue]:
    return cast(dict[str, MetadataValue], dict(metadata or {}))


def _requested(column: _T | None, name: str) -> _T:
    """A column we asked Chroma to include (its result types leave every column optional)."""
    if column is None:
        msg = f"chroma left out the requested {name!r} column"
        raise VectorStoreError(msg)
    return column


def _where(where: WhereFilter | None) -> Where | None:
    """Chroma rejects an empty filter; for reads it means "no filter"."""
    return cast("Where", dict(where)) if where else None


class VectorCollection:
    """One Chroma collection whose identity includes the embedding model and dimension.

    Build it with :meth:`open`. Scores are cosine similarities; ids are the
    caller's stable ids, so every write is idempotent. ``client`` is the client it
    was opened on (``state.chroma.reopen`` opens it again on a fresh one).
    """

    def __init__(
        self,
        client: ClientAPI,
        collection: Collection,
        *,
        embedding_model_id: str,
        dimension: int,
        max_batch_size: int,
    ) -> None:
        self.client = client
        self._collection = collection
        self.name: str = collection.name
        self.embedding_model_id = embedding_model_id
        self.dimension = dimension
        self._max_batch_size = max_batch_size

    @classmethod
    def open(
        cls, client: ClientAPI, name: str, *, embedding_model_id: str, dimension: int
    ) -> VectorCollection:
        """Create or reuse collection ``name``; refuse one built with another model or dimension."""
        identity: dict[str, MetadataValue] = {
            "hnsw:space": _DISTANCE_SPACE,
            "embedding_model": embedding_model_id,
            "dimension": dimension,
        }
        with _unavailable_on_outage(f"opening collection {name!r}"):
            # embedding_function=None: Chroma must never embed; we always pass vectors.
            # On an existing collection, get_or_create keeps its metadata unchanged.
            collection = client.get_or_create_collection(
                name, metadata=identity, embedding_function=None
            )
            max_batch_size = client.get_max_batch_size()
        found = {key: (collection.metadata or {}).get(key) for key in identity}
        if found != identity:
            msg = (
                f"collection {name!r} holds {found['dimension']}-dim {found['hnsw:space']} "
                f"vectors from model {found['embedding_model']!r}, but {embedding_model_id!r} "
                f"makes {dimension}-dim {_DISTANCE_SPACE} vectors: use a new collection name "
                f"for this model, or delete {name!r} and rebuild it from its source topic"
            )
            raise VectorStoreMismatch(msg)
        logger.info(
            "chroma collection %r open (%s, %d dims, batches of %d)",
            name,
            embedding_model_id,
            dimension,
            max_batch_size,
        )
        return cls(
            client,
            collection,
            embedding_model_id=embedding_model_id,
            dimension=dimension,
            max_batch_size=max_batch_size,
        )

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or fully replace ``records``, in batches Chroma accepts.

        When an id appears more than once, the last record wins (stream order).
        A replaced record keeps none of its old metadata: Chroma's upsert merges
        metadata keys, so keys the new version lacks are explicitly removed (one
        extra read per batch). Batches are not atomic together: after a failure,
        replay the whole call.
        """
        latest = list({record.id: record for record in records}.values())
        for record in latest:
            self._check_dimension(len(record.vector), f"record {record.id!r}")
        for start in range(0, len(latest), self._max_batch_size):
            batch = latest[start : start + self._max_batch_size]
            logger.debug("chroma %r: upserting %d records", self.name, len(batch))
            with _unavailable_on_outage(f"upsert into {self.name!r}"):
                self._upsert_batch(batch)

    def _upsert_batch(self, batch: Sequence[VectorRecord]) -> None:
        ids = [record.id for record in batch]
        current = self._collection.get(ids=ids, include=["metadatas"])
        old_keys = {
            id_: set(metadata or {})
            for id_, metadata in zip(current["ids"], current["metadatas"] or [], strict=True)
        }
        metadatas: list[dict[str, MetadataValue | None] | None] = []
        for record in batch:
            new = _to_chroma_metadata(record.metadata)
            removed = dict.fromkeys(old_keys.get(record.id, set()) - new.keys())
            metadatas.append({**removed, **new} or None)  # None as a value deletes the key
        embeddings: list[Sequence[float]] = [list(record.vector) for record in batch]
        self._collection.upsert(
            ids=ids,
            embeddings=embeddings,
            documents=[record.document for record in batch],
            metadatas=cast("list[Metadata]", metadatas),
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete ``ids``; unknown ids are ignored.

        Returns nothing: Chroma 1.5 reports the number of ids asked for, not found.
        """
        if not ids:
            return
        with _unavailable_on_outage(f"delete from {self.name!r}"):
            self._collection.delete(ids=list(ids))

    def delete_where(self, where: WhereFilter) -> int:
        """Delete every record matching ``where`` (e.g. all chunks of a document); return how many.

        An empty filter is refused: it would empty the collection.
        """
        if not where:
            msg = f"refusing to delete from {self.name!r} with an empty filter"
            raise ValueError(msg)
        with _unavailable_on_outage(f"delete from {self.name!r}"):
            result = self._collection.delete(where=_where(where))
        return result["deleted"]

    def get(
        self,
        ids: Sequence[str] | None = None,
        where: WhereFilter | None = None,
        *,
        with_vectors: bool = False,
    ) -> list[StoredRecord]:
        """Records by id and/or filter (every record when both are empty), in Chroma's order."""
        if ids is not None and not ids:
            return []
        with _unavailable_on_outage(f"get from {self.name!r}"):
            result = self._collection.get(
                ids=list(ids) if ids is not None else None,
                where=_where(where),
                include=["documents", "metadatas", "embeddings"]
                if with_vectors
                else ["documents", "metadatas"],
            )
        documents = _requested(result["documents"], "documents")
        metadatas = _requested(result["metadatas"], "metadatas")
        vectors = result["embeddings"]  # None unless with_vectors
        return [
            StoredRecord(
                id=id_,
                document=documents[i] or "",
                metadata=_from_chroma_metadata(metadatas[i]),
                vector=tuple(float(x) for x in vectors[i]) if vectors is not None else None,
            )
            for i, id_ in enumerate(result["ids"])
        ]

    def query(self, vector: Sequence[float], k: int, where: WhereFilter | None = None) -> list[Hit]:
        """The ``k`` records nearest to ``vector`` (best first), optionally filtered."""
        if k < 1:
            msg = f"k must be at least 1, got {k!r}"
            raise ValueError(msg)
        self._check_dimension(len(vector), "query vector")
        query_embeddings: list[Sequence[float]] = [list(vector)]
        with _unavailable_on_outage(f"query {self.name!r}"):
            result = self._collection.query(
                query_embeddings=query_embeddings,
                n_results=k,
                where=_where(where),
                include=["documents", "metadatas", "distances"],
            )
        ids = result["ids"][0]
        documents = _requested(result["documents"], "documents")[0]
        metadatas = _requested(result["metadatas"], "metadatas")[0]
        distances = _requested(result["distances"], "distances")[0]
        return [
            Hit(
                id=id_,
                score=1.0 - float(distance),
                document=document or "",
                metadata=_from_chroma_metadata(metadata),
            )
            for id_, document, metadata, distance in zip(
                ids, documents, metadatas, distances, strict=True
            )
        ]

    def count(self) -> int:
        """How many records the collection holds."""
        with _unavailable_on_outage(f"count {self.name!r}"):
            return self._collection.count()

    def ids_where(self, where: WhereFilter) -> list[str]:
        """Ids of the records matching ``where`` (every id when it is empty)."""
        with _unavailable_on_outage(f"get ids from {self.name!r}"):
            return self._collection.get(where=_where(where), include=[])["ids"]

    def _check_dimension(self, length: int, what: str) -> None:
        if length != self.dimension:
            msg = (
                f"{what} has {length} dimensions; collection {self.name!r} holds "
                f"{self.dimension}-dim vectors from {self.embedding_model_id!r}"
            )
            raise ValueError(msg)
