"""A knowledge base full of dates, versions, IP addresses and phone numbers still answers.

The real broker, sync, embedder and Chroma; only the chat model is a fake, injecting the
two faults seen with SmolLM2: an answer that copies a passage's dotted date and version
(once a ``ValueError`` that dead-lettered every question retrieving that document), and
an invented "123 days" whose digits stand only in a cited passage's phone number; and
an answer that runs on to its token budget (seen with the Q8_0 copy of SmolLM2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models import JsonObject, ModelOutputInvalid
from pipelines.common import backends
from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge import rag_pipeline
from pipelines.knowledge.answering import QUOTED, Answerer
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.replica import KnowledgeReplica
from pipelines.knowledge.settings import KnowledgeSettings
from tests.kafkaio import produce, read
from tests.knowledge.conftest import change, create_topics, run_sync

FEES = "From 01.01.2027 the foreign transaction fee is 2.5 percent (tariff 1.11.11.2018)."
REFUNDS = "You can request a refund within 30 days of purchase."
CONTACT = (
    "To request a refund by phone, call 0800 123 456; our API gateway is 192.0.2.10, "
    "app version 3.2.1, open 9:00-17:00."
)
FEE_QUESTION = "What is the foreign transaction fee?"
REFUND_QUESTION = "How many days do I have to request a refund?"
FEE_ANSWER = "From 01.01.2027 the fee is 2.5 percent (tariff 1.11.11.2018)."


class FixedAnswers:
    """Fault injection: a fixed answer per question, citing every passage it was shown."""

    model_id = "fixed"

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        shown = schema["properties"]["sources"]["items"]["enum"]
        answer = FEE_ANSWER if FEE_QUESTION in user else "You have 123 days to request a refund."
        return {"answer": answer, "sources": list(shown)}


class RunsOn:
    """Fault injection: the model's answer never closes and is cut off at its budget."""

    model_id = "runs-on"

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        raise ModelOutputInvalid('{"answer": "1.1.1.1.1.1', "answer cut off at max_tokens=256")


def answers_of(settings: StreamwiseSettings, model: FixedAnswers | RunsOn) -> dict[str, Any]:
    """The answers ``model`` gives through the real rag pipeline on the three documents."""
    create_topics(settings)
    produce(settings, "kb-changes", [
        ("fees", change("fees", 1, FEES, title="Card fees")),
        ("refunds", change("refunds", 1, REFUNDS, title="Refund policy")),
        ("contact", change("contact", 1, CONTACT, title="Contact")),
    ])  # fmt: skip
    run_sync(settings)
    now = datetime.now(UTC).isoformat()
    produce(settings, "questions", [
        (qid, {"question_id": qid, "text": text, "ts": now})
        for qid, text in (("fee", FEE_QUESTION), ("refund", REFUND_QUESTION))
    ])  # fmt: skip
    knowledge, embedder = KnowledgeSettings(), backends.embedder(settings)
    replica = KnowledgeReplica(KnowledgeIndex.open(settings, knowledge), embedder)
    papp = make_app("rag", settings)
    rag_pipeline.build(papp, Answerer(replica, embedder, model, knowledge))
    papp.app.run(timeout=3)

    answers = {r.json()["question_id"]: r.json() for r in read(
        settings, "answers", until=lambda r: len(r) >= 2, timeout_s=60)}  # fmt: skip
    assert read(settings, "rag-dlq", timeout_s=2) == []
    return answers


def test_dates_versions_ips_and_phones_in_the_documents_are_answered_not_dead_lettered(
    settings: StreamwiseSettings,
) -> None:
    answers = answers_of(settings, FixedAnswers())
    fee, refund = answers["fee"], answers["refund"]
    assert (fee["status"], fee["answer"], fee.get("reason")) == ("ok", FEE_ANSWER, None)
    assert 1 <= len(fee["citations"]) <= KnowledgeSettings().max_citations  # named: every one
    assert refund["status"] == "ok", refund
    assert refund["answer"] == REFUNDS  # the model's "123 days" replaced by the policy
    assert refund["reason"].startswith(QUOTED + "the model's answer stated 123 days")
    assert [c["doc_id"] for c in refund["citations"]] == ["refunds"]


def test_an_answer_cut_off_at_its_budget_is_replaced_by_the_sentence_that_answers(
    settings: StreamwiseSettings,
) -> None:
    refund = answers_of(settings, RunsOn())["refund"]

    assert refund["status"] == "ok", refund
    assert refund["answer"] == REFUNDS
    assert refund["reason"] == QUOTED + "model output invalid: answer cut off at max_tokens=256"
    assert [c["doc_id"] for c in refund["citations"]] == ["refunds"]
