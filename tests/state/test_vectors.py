"""The Chroma adapter against real Chroma, embedded and server; fakes only inject faults."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from chromadb.api import ClientAPI
from chromadb.errors import InvalidArgumentError, RateLimitError

from state.vectors import (
    Hit,
    VectorCollection,
    VectorRecord,
    VectorStoreMismatch,
    VectorStoreUnavailable,
)
from tests.state.records import DIM, MODEL, between, chunk, open_collection, unit


def test_query_returns_the_nearest_record_first_with_its_cosine_similarity(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert(
        [
            VectorRecord("north", unit(0), "heading north", {"kind": "compass"}),
            VectorRecord("east", unit(1), "heading east", {"kind": "compass"}),
            VectorRecord("north-east", between(0, 1), "heading north-east", {"kind": "mixed"}),
        ]
    )

    hits = vectors.query(unit(0), k=3)

    assert [hit.id for hit in hits] == ["north", "north-east", "east"]
    assert [hit.score for hit in hits] == pytest.approx([1.0, 1 / math.sqrt(2), 0.0], abs=1e-5)
    assert hits[0] == Hit("north", hits[0].score, "heading north", {"kind": "compass"})


def test_query_only_considers_records_matching_the_filter(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([chunk("faq", 0, axis=0), chunk("faq", 1, axis=1), chunk("guide", 0, axis=0)])

    hits = vectors.query(unit(0), k=5, where={"doc_id": "faq"})

    assert [hit.id for hit in hits] == ["faq#0", "faq#1"]


def test_query_asks_for_more_than_stored_returns_what_there_is(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    assert vectors.query(unit(0), k=3) == []

    vectors.upsert([chunk("faq", 0, axis=0)])

    assert [hit.id for hit in vectors.query(unit(0), k=3)] == ["faq#0"]


def test_replaying_an_upsert_keeps_one_record_with_only_the_new_content(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([VectorRecord("case-1", unit(0), "first draft", {"severity": "low", "v": 1})])

    vectors.upsert([VectorRecord("case-1", unit(1), "second draft", {"v": 2})])

    assert vectors.count() == 1
    [stored] = vectors.get(ids=["case-1"], with_vectors=True)
    assert stored.document == "second draft"
    assert stored.metadata == {"v": 2}  # Chroma alone would have kept "severity"
    assert stored.vector == pytest.approx(unit(1))


def test_replacing_a_record_with_no_metadata_clears_its_old_metadata(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([VectorRecord("case-1", unit(0), "draft", {"severity": "low"})])

    vectors.upsert([VectorRecord("case-1", unit(0), "draft")])

    assert vectors.get(ids=["case-1"])[0].metadata == {}


def test_the_last_record_wins_when_an_id_repeats_within_one_upsert(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)

    vectors.upsert(
        [
            VectorRecord("doc#0", unit(0), "version 1", {"version": 1}),
            VectorRecord("doc#0", unit(1), "version 2", {"version": 2}),
        ]
    )

    [stored] = vectors.get()
    assert (stored.id, stored.document, stored.metadata) == ("doc#0", "version 2", {"version": 2})


def test_delete_removes_exactly_the_given_ids(client: ClientAPI, collection_name: str) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([chunk("faq", n, axis=n) for n in range(4)])

    vectors.delete(["faq#1", "faq#3", "never-stored"])
    vectors.delete([])

    assert sorted(record.id for record in vectors.get()) == ["faq#0", "faq#2"]


def test_delete_where_removes_every_chunk_of_one_document_and_nothing_else(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([chunk("faq", n, axis=n) for n in range(3)] + [chunk("guide", 0, axis=0)])

    deleted = vectors.delete_where({"doc_id": "faq"})

    assert deleted == 3
    assert vectors.ids_where({"doc_id": "faq"}) == []
    assert vectors.ids_where({"doc_id": "guide"}) == ["guide#0"]
    assert vectors.delete_where({"doc_id": "faq"}) == 0


def test_delete_where_refuses_an_empty_filter(client: ClientAPI, collection_name: str) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([chunk("faq", 0, axis=0)])

    with pytest.raises(ValueError, match="empty filter"):
        vectors.delete_where({})

    assert vectors.count() == 1


def test_get_and_ids_where_without_a_filter_return_every_record(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    vectors.upsert([chunk("faq", n, axis=n) for n in range(3)])

    assert sorted(vectors.ids_where({})) == ["faq#0", "faq#1", "faq#2"]
    assert sorted(record.id for record in vectors.get()) == ["faq#0", "faq#1", "faq#2"]
    assert vectors.get(ids=[]) == []
    assert [record.vector for record in vectors.get(ids=["faq#0"])] == [None]


@pytest.mark.parametrize(
    ("model", "dimension"),
    [("other-embedder-v2", DIM), (MODEL, DIM * 2)],
    ids=["other-model", "other-dimension"],
)
def test_reopening_with_another_embedding_model_or_dimension_raises_mismatch(
    client: ClientAPI, collection_name: str, model: str, dimension: int
) -> None:
    open_collection(client, collection_name).upsert([chunk("faq", 0, axis=0)])

    with pytest.raises(VectorStoreMismatch, match=collection_name) as raised:
        open_collection(client, collection_name, model=model, dimension=dimension)

    assert MODEL in str(raised.value)
    assert "new collection name" in str(raised.value)
    assert open_collection(client, collection_name).count() == 1  # left untouched


def test_reopening_with_the_same_model_sees_the_stored_records(
    client: ClientAPI, collection_name: str
) -> None:
    open_collection(client, collection_name).upsert([chunk("faq", 0, axis=0)])

    reopened = open_collection(client, collection_name)

    assert [hit.id for hit in reopened.query(unit(0), k=1)] == ["faq#0"]


def test_an_upsert_larger_than_chromas_batch_limit_is_split_and_every_record_lands(
    client: ClientAPI, collection_name: str
) -> None:
    total = 6000
    assert client.get_max_batch_size() < total  # otherwise this test proves nothing
    vectors = open_collection(client, collection_name)

    vectors.upsert([VectorRecord(f"r{i}", unit(i % DIM), "", {"n": i}) for i in range(total)])

    assert vectors.count() == total
    assert vectors.ids_where({"n": total - 1}) == [f"r{total - 1}"]


def test_metadata_drops_none_and_stores_lists_and_dicts_as_sorted_json(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)
    metadata: dict[str, Any] = {
        "customer_id": None,
        "key_phrases": ["late delivery", "refund"],
        "location": {"lon": 2.35, "lat": 48.85},
        "rating": 2,
        "urgent": True,
        "score": -0.5,
    }

    vectors.upsert([VectorRecord("fb-1", unit(0), "late again", metadata)])

    [stored] = vectors.get(ids=["fb-1"])
    assert stored.metadata == {
        "key_phrases": '["late delivery","refund"]',
        "location": '{"lat":48.85,"lon":2.35}',
        "rating": 2,
        "urgent": True,
        "score": -0.5,
    }
    assert json.loads(str(stored.metadata["key_phrases"])) == ["late delivery", "refund"]


def test_vectors_of_the_wrong_dimension_are_refused_before_reaching_chroma(
    client: ClientAPI, collection_name: str
) -> None:
    vectors = open_collection(client, collection_name)

    with pytest.raises(ValueError, match=r"'short' has 3 dimensions"):
        vectors.upsert([chunk("faq", 0, axis=0), VectorRecord("short", [1.0, 0.0, 0.0], "")])
    with pytest.raises(ValueError, match="query vector has 3 dimensions"):
        vectors.query([1.0, 0.0, 0.0], k=1)

    assert vectors.count() == 0


# --- fault injection: the only fakes in this file ------------------------------------------


class FailingCollection:
    """A Chroma collection whose every call fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.name = "faulty"
        self.metadata = {"hnsw:space": "cosine", "embedding_model": MODEL, "dimension": DIM}
        self._error = error

    def _fail(self, *args: object, **kwargs: object) -> Any:
        raise self._error

    get = upsert = delete = query = count = _fail


class FakeClient:
    """Hands out one collection; enough of ClientAPI for ``VectorCollection.open``."""

    def __init__(self, collection: object) -> None:
        self._collection = collection

    def get_or_create_collection(self, *args: object, **kwargs: object) -> object:
        return self._collection

    def get_max_batch_size(self) -> int:
        return 100


OPERATIONS: dict[str, Callable[[VectorCollection], object]] = {
    "upsert": lambda vectors: vectors.upsert([chunk("faq", 0, axis=0)]),
    "delete": lambda vectors: vectors.delete(["faq#0"]),
    "delete_where": lambda vectors: vectors.delete_where({"doc_id": "faq"}),
    "get": lambda vectors: vectors.get(),
    "ids_where": lambda vectors: vectors.ids_where({"doc_id": "faq"}),
    "query": lambda vectors: vectors.query(unit(0), k=1),
    "count": lambda vectors: vectors.count(),
}
OUTAGES: Sequence[Exception] = [
    httpx.ReadError("[Errno 104] Connection reset by peer"),
    httpx.ReadTimeout("timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    RateLimitError("too many requests"),
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_refused_connection_during_any_operation_raises_unavailable(operation: str) -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    vectors = open_collection(FakeClient(FailingCollection(refused)), "faulty")

    with pytest.raises(VectorStoreUnavailable, match="ConnectError") as raised:
        OPERATIONS[operation](vectors)

    assert raised.value.__cause__ is refused


@pytest.mark.parametrize("outage", OUTAGES, ids=lambda exc: type(exc).__name__)
def test_every_kind_of_outage_raises_unavailable(outage: Exception) -> None:
    vectors = open_collection(FakeClient(FailingCollection(outage)), "faulty")

    with pytest.raises(VectorStoreUnavailable, match=type(outage).__name__):
        vectors.upsert([chunk("faq", 0, axis=0)])


def test_an_outage_while_opening_raises_unavailable() -> None:
    class Unreachable(FakeClient):
        def get_or_create_collection(self, *args: object, **kwargs: object) -> object:
            raise httpx.ConnectError("[Errno 111] Connection refused")

    with pytest.raises(VectorStoreUnavailable, match="opening collection 'faulty'"):
        open_collection(Unreachable(None), "faulty")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_errors_that_are_not_outages_propagate_unchanged(operation: str) -> None:
    bad_request = InvalidArgumentError("invalid where clause")
    vectors = open_collection(FakeClient(FailingCollection(bad_request)), "faulty")

    with pytest.raises(InvalidArgumentError) as raised:
        OPERATIONS[operation](vectors)

    assert raised.value is bad_request
