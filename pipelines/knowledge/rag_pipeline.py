r"""RAG answers: every question answered from the latest knowledge, with citations.

questions -(customer_id)-> join_asof(customers by customer_id) --\
questions without customer_id ------------------------------------+-> answer -> answers
undecodable / invalid / failing -> rag-dlq

The asker's profile comes from the compacted ``customers`` topic, re-keyed by
``customer_id`` and joined as of the question's time: a stream join, not a
lookup in a side database. A tombstone there deletes one card's profile and names no
customer, so it cannot be re-keyed: the customer's last profile stays for answers.
Retrieval reads a replica of the live chunks that follows the sync's manifest in Chroma
(``replica.py``), so an answer never cites a version the index no longer holds.
"""

from __future__ import annotations

from typing import Any

from pipelines.common import backends
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.events import Answer, Customer, Question
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.knowledge.answering import Answerer
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.replica import KnowledgeReplica
from pipelines.knowledge.settings import KnowledgeSettings

Asked = tuple[dict[str, Any], dict[str, Any] | None]


def with_profile(question: dict[str, Any], profile: dict[str, Any] | None) -> Asked:
    """The as-of join's merge: a question and the asker's profile at its time."""
    return question, profile


def without_profile(question: Question) -> Asked:
    return question.to_json_dict(), None


def _customer_id(value: dict[str, Any]) -> str:
    return str(value["customer_id"])


def _answer_key(answer: Answer) -> str:
    return answer.question_id


def build(papp: PipelineApp, answerer: Answerer) -> None:
    """Declare the dataflow on ``papp``; nothing runs until ``papp.run()``."""
    app = papp.app
    profiles = papp.regroup(
        app.dataframe(papp.topic("customers"))
        .filter(lambda customer: customer is not None)  # a card's profile deleted: see README
        .apply(Customer.to_json_dict),
        _customer_id,
        name="customer_id",
    )
    questions = app.dataframe(papp.topic("questions"))
    asked = questions.filter(lambda q: q.customer_id is not None).apply(Question.to_json_dict)
    joined = papp.regroup(asked, _customer_id, name="customer_id").join_asof(
        profiles, how="left", on_merge=with_profile
    )
    alone = questions.filter(lambda q: q.customer_id is None).apply(without_profile)

    def answer(asked: Asked) -> Answer:
        question, profile = asked
        return answerer.answer(Question.model_validate(question), profile)

    answers = joined.concat(alone).apply(stage("answer", answer, attempts=2))
    papp.publish(answers, "answers", key=_answer_key)


def make_answerer(settings: StreamwiseSettings, knowledge: KnowledgeSettings) -> Answerer:
    """The answerer on the configured embedder, chat model and Chroma."""
    embedder = backends.embedder(settings)
    replica = KnowledgeReplica(KnowledgeIndex.open(settings, knowledge), embedder)
    return Answerer(replica, embedder, backends.chat_model(settings), knowledge)


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run rag``."""
    knowledge = load_settings(KnowledgeSettings)
    papp = make_app("rag", settings)
    build(papp, make_answerer(settings, knowledge))
    papp.run()
