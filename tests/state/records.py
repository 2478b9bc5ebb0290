"""Vectors and records for the vector-store tests: axes of an 8-dim space, chunks of a doc."""

from __future__ import annotations

from chromadb.api import ClientAPI

from state.vectors import VectorCollection, VectorRecord

DIM = 8
MODEL = "test-embedder-v1"


def unit(axis: int) -> list[float]:
    """The unit vector along ``axis``: cosine similarity between two of them is 0 or 1."""
    return [1.0 if i == axis else 0.0 for i in range(DIM)]


def between(axis_a: int, axis_b: int) -> list[float]:
    """Halfway between two axes: cosine similarity 1/sqrt(2) to each."""
    return [a + b for a, b in zip(unit(axis_a), unit(axis_b), strict=True)]


def open_collection(
    client: ClientAPI, name: str, model: str = MODEL, dimension: int = DIM
) -> VectorCollection:
    return VectorCollection.open(client, name, embedding_model_id=model, dimension=dimension)


def chunk(doc_id: str, n: int, axis: int) -> VectorRecord:
    return VectorRecord(
        id=f"{doc_id}#{n}",
        vector=unit(axis),
        document=f"{doc_id} chunk {n}",
        metadata={"doc_id": doc_id, "chunk": n},
    )
