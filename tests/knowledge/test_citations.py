"""Citations by evidence: the passages an answer's content comes from, first the strongest.

The real embedder and retrieval over an in-memory snapshot; the chat model is a fake that
answers with a chosen sentence, which is what a citation test needs to control.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from models import JsonObject, TokenEmbedder
from pipelines.common import backends
from pipelines.common.events import Answer, Question
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.answering import QUOTED, Answerer
from pipelines.knowledge.citations import SUPPORT_FLOOR, cite
from pipelines.knowledge.index import Manifest
from pipelines.knowledge.replica import Snapshot
from pipelines.knowledge.retrieval import Bm25, Passage, hybrid_search
from pipelines.knowledge.settings import KnowledgeSettings
from state.documents import AppliedDocument

DOCUMENTS = {
    "returns": ("Returns", "Items can be returned within 14 days of delivery for a full refund."),
    "refunds": ("Refunds", "Refunds are paid back to the original card within 5 working days."),
    "shipping": ("Shipping", "Standard shipping takes 3 to 5 working days within the EU."),
    "warranty": ("Warranty", "Electronics carry a two-year warranty against manufacturing faults."),
}
QUESTION = "How do returns and refunds work?"


class Says:
    """Fault injection: the model answers ``text`` and names passage 1 as its source."""

    model_id = "says"

    def __init__(self, text: str) -> None:
        self.text = text

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        return {"answer": self.text, "sources": [1]}


class FixedSnapshot:
    """The documents as the replica would hold them: one chunk each, version 1."""

    def __init__(self, embedder: TokenEmbedder) -> None:
        passages = tuple(
            Passage(f"{doc}:0:h", doc, title, f"{title}\n\n{text}")
            for doc, (title, text) in DOCUMENTS.items()
        )
        vectors = np.asarray(embedder.embed([p.text for p in passages]), dtype=np.float32)
        manifest = Manifest({
            p.doc_id: AppliedDocument(1, False, p.title, (p.chunk_id,)) for p in passages
        })  # fmt: skip
        self.snapshot = Snapshot(
            manifest, dict.fromkeys(DOCUMENTS, 1), passages, vectors,
            Bm25([p.text for p in passages]),
        )  # fmt: skip

    def refresh(self) -> Snapshot:
        return self.snapshot


@pytest.fixture(scope="module")
def embedder() -> TokenEmbedder:
    return backends.embedder(StreamwiseSettings())


@pytest.fixture(scope="module")
def source(embedder: TokenEmbedder) -> FixedSnapshot:
    return FixedSnapshot(embedder)


def answer(source: FixedSnapshot, embedder: TokenEmbedder, text: str, asked: str) -> Answer:
    answerer = Answerer(source, embedder, Says(text), KnowledgeSettings())
    return answerer.answer(Question(question_id="q", text=asked, ts=datetime.now(UTC)))


def shown(source: FixedSnapshot, embedder: TokenEmbedder, asked: str) -> list[str]:
    """The documents of the passages the model is shown, in rank order."""
    snapshot = source.refresh()
    [vector] = embedder.embed([asked])
    hits = hybrid_search(snapshot.passages, snapshot.vectors, snapshot.bm25, vector, asked)
    return [h.passage.doc_id for h in hits[: KnowledgeSettings().context_chunks]]


def test_an_answer_taken_from_the_second_passage_cites_it_first(
    source: FixedSnapshot, embedder: TokenEmbedder
) -> None:
    ranked = shown(source, embedder, QUESTION)
    second = ranked[1]
    text = DOCUMENTS[second][1]
    result = answer(source, embedder, text, QUESTION)
    assert result.status == "ok"
    assert result.citations[0].doc_id == second  # though the model named passage 1
    assert len(result.citations) <= KnowledgeSettings().max_citations


def test_citations_only_ever_name_passages_that_were_retrieved(
    source: FixedSnapshot, embedder: TokenEmbedder
) -> None:
    asked = "How long does standard shipping take?"
    retrieved = set(shown(source, embedder, asked))
    for text in (*(t for _, t in DOCUMENTS.values()), "Shipping takes 3 to 5 days."):
        result = answer(source, embedder, text, asked)
        assert {c.doc_id for c in result.citations} <= retrieved


def test_an_answer_no_passage_supports_is_not_published_as_the_models(
    source: FixedSnapshot, embedder: TokenEmbedder
) -> None:
    result = answer(source, embedder, "Yes.", "Can items be returned within 14 days?")
    assert result.status == "ok"  # replaced by the sentence of the passage that answers
    assert result.answer == DOCUMENTS["returns"][1]
    assert result.reason == QUOTED + "no passage shown supports the model's answer"
    assert [c.doc_id for c in result.citations] == ["returns"]


def test_a_question_nobody_documented_gets_no_context(
    source: FixedSnapshot, embedder: TokenEmbedder
) -> None:
    result = answer(source, embedder, "Paris.", "What is the capital of France?")
    assert (result.status, result.citations) == ("no_context", [])


def test_citations_follow_the_evidence_and_skip_passages_that_do_not_support_it() -> None:
    passages = np.eye(3, dtype=np.float32)
    answer_vector = np.asarray([0.3, 0.954, 0.0], dtype=np.float32)  # mostly passage 2
    assert cite(answer_vector, passages, [0.9, 0.5, 0.9], most=2) == (1,)
    both = np.asarray([0.6, 0.8, 0.0], dtype=np.float32)
    assert cite(both, passages, [0.9, 0.5, 0.9], most=2) == (0, 1)  # 1.5 against 1.3
    assert cite(both, passages, [0.9, 0.5, 0.9], most=1) == (0,)
    weak = np.asarray([0.0, 0.0, SUPPORT_FLOOR * 0.9], dtype=np.float32)
    assert cite(weak, passages, [0.9, 0.9, 0.9], most=2) == ()
