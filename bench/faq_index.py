"""A FAQ set as the rag pipeline's replica would hold it, built in memory (no broker, no Chroma).

For benchmarks of the answer step alone (``bench/llm.py``, ``bench/answers.py``): the
chunks are made, embedded and searched exactly as the pipelines do, so the prompts are
the pipeline's, without the sync's minutes of setup.
"""

from __future__ import annotations

import numpy as np

from bench.kb_dataset import FaqEntry
from models import TokenEmbedder
from pipelines.knowledge.chunking import chunk_document
from pipelines.knowledge.index import Manifest
from pipelines.knowledge.replica import Snapshot
from pipelines.knowledge.retrieval import Bm25, Passage, Scored, hybrid_search
from pipelines.knowledge.settings import KnowledgeSettings
from state.documents import AppliedDocument


class FaqIndex:
    """Every entry of a FAQ set at version 1; a ``SnapshotSource`` for the ``Answerer``."""

    def __init__(self, faq: list[FaqEntry], embedder: TokenEmbedder) -> None:
        knowledge = KnowledgeSettings()
        chunks = [
            chunk
            for entry in faq
            for chunk in chunk_document(
                entry.doc_id, entry.title, entry.answer, embedder.count_tokens,
                max_tokens=knowledge.chunk_tokens, overlap_tokens=knowledge.overlap_tokens,
            )
        ]  # fmt: skip
        titles = {entry.doc_id: entry.title for entry in faq}
        passages = tuple(Passage(c.chunk_id, c.doc_id, titles[c.doc_id], c.text) for c in chunks)
        documents = {
            e.doc_id: AppliedDocument(
                1, False, e.title, tuple(p.chunk_id for p in passages if p.doc_id == e.doc_id)
            )
            for e in faq
        }
        vectors = np.asarray(embedder.embed([p.text for p in passages]), dtype=np.float32)
        self._snapshot = Snapshot(
            Manifest(documents), dict.fromkeys(documents, 1), passages, vectors,
            Bm25([p.text for p in passages]),
        )  # fmt: skip
        self._embedder = embedder

    def refresh(self) -> Snapshot:
        return self._snapshot

    def search(self, question: str) -> list[Scored]:
        """Passages as the ``Answerer`` ranks them for ``question`` (hybrid retrieval)."""
        snapshot = self._snapshot
        [vector] = self._embedder.embed([question])
        return hybrid_search(snapshot.passages, snapshot.vectors, snapshot.bm25, vector,
                             question, candidates=KnowledgeSettings().candidates)  # fmt: skip
