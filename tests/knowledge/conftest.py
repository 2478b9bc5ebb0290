"""Knowledge tests: the real broker, embedder, SmolLM2 and Chroma (embedded and ``chroma run``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.chroma_server import ChromaServer
from pipelines.knowledge import rag_pipeline, sync_pipeline
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.settings import KnowledgeSettings
from pipelines.knowledge.sink import KnowledgeSink
from tests.processes import create_topics
from tests.state.conftest import chroma_server

__all__ = ["chroma_server"]

T0 = "2026-11-22T10:00:00Z"


def change(doc_id: str, version: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    """A kb-changes event: an upsert with ``text``, a delete without."""
    if text is None:
        return {"doc_id": doc_id, "version": version, "op": "delete", "ts": T0, **extra}
    title = extra.pop("title", doc_id.replace("-", " ").title())
    return {"doc_id": doc_id, "version": version, "op": "upsert", "ts": T0, "title": title,
            "text": text, **extra}  # fmt: skip


@pytest.fixture(params=["embedded", "server"])
def kb_settings(
    request: pytest.FixtureRequest, settings: StreamwiseSettings
) -> Iterator[StreamwiseSettings]:
    """The test's deployment, once with embedded Chroma and once with a ``chroma run`` server."""
    create_topics(settings)
    if request.param == "embedded":
        yield settings
    else:
        server: ChromaServer = request.getfixturevalue("chroma_server")
        yield settings.model_copy(update={"chroma_host": server.address})


def run_sync(settings: StreamwiseSettings, *, group: str | None = None) -> KnowledgeSink:
    """Run the knowledge sync until the topic is drained; its sink counts what it did."""
    papp = make_app("knowledge", settings, consumer_group=group)
    sink = sync_pipeline.build(papp, KnowledgeSettings())
    papp.app.run(timeout=3)
    return sink


def run_rag(settings: StreamwiseSettings, knowledge: KnowledgeSettings | None = None) -> None:
    """Run the RAG pipeline until the questions are drained."""
    papp = make_app("rag", settings)
    rag_pipeline.build(papp, rag_pipeline.make_answerer(settings, knowledge or KnowledgeSettings()))
    papp.app.run(timeout=3)


@pytest.fixture
def open_index() -> Callable[[StreamwiseSettings], KnowledgeIndex]:
    return lambda s: KnowledgeIndex.open(s, KnowledgeSettings())
