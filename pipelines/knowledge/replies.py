"""Request/reply over the topics: publish a question, wait for its answer.

Applications (``streamwise ask``, ``streamwise serve``) do not call the RAG
pipeline; they talk to it through ``questions`` and ``answers`` like any other
producer and consumer, so the pipeline can be scaled, restarted or replaced
without them noticing. One ``AnswerRouter`` reads ``answers`` from its end
(only answers that arrive after it started) on a background thread and hands
each answer to the caller waiting for that ``question_id``.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from pipelines.common.access import SERVE_ACCESS
from pipelines.common.clients import (
    client_config,
    create_registry_topics,
    producer_config,
)
from pipelines.common.events import Answer, AnswerRating, Question
from pipelines.common.outage import watching
from pipelines.common.serialization import PoisonMessage, decode_event, encode_json
from pipelines.common.settings import StreamwiseSettings


class AnswerTimeout(TimeoutError):
    """No answer arrived in time (the RAG pipeline is down, behind, or the model is slow)."""


class InvalidQuestion(ValueError):
    """A question the RAG pipeline would only dead-letter: refused before it is published."""


def question_event(
    text: str,
    *,
    customer_id: str | None = None,
    min_versions: dict[str, int] | None = None,
    wait_s: float | None = None,
) -> tuple[str, bytes]:
    """A new question's id and wire bytes, validated as the pipeline will validate them.

    ``ask`` and ``serve`` both build questions here, so an empty text is refused at
    once, in the same words, instead of being published, dead-lettered by the pipeline
    and answered by nothing but a timeout a minute later.
    """
    question_id = f"ask-{uuid.uuid4().hex}"
    question: dict[str, Any] = {
        "question_id": question_id,
        "text": text,
        "ts": datetime.now(UTC).isoformat(),
    }
    if customer_id:
        question["customer_id"] = customer_id
    if min_versions:
        question["min_versions"] = min_versions
        question["wait_s"] = wait_s
    raw = encode_json(question)
    try:
        decode_event(Question, raw)
    except PoisonMessage as exc:
        raise InvalidQuestion(str(exc)) from exc
    return question_id, raw


class BrokerUnavailable(ConnectionError):
    """The broker cannot take the question now: nothing was asked (``serve``: 503)."""


SERVE_MEANWHILE = "asks are answered 503 until it is back"


class AnswerRouter:
    """Publishes questions and routes answers back to their askers (thread-safe)."""

    def __init__(self, settings: StreamwiseSettings) -> None:
        self._questions = settings.topic_prefix + "questions"
        self._answers = settings.topic_prefix + "answers"
        self._ratings = settings.topic_prefix + "answer-ratings"
        create_registry_topics(settings, SERVE_ACCESS.topics)
        self.outage = watching(client_config(settings), SERVE_MEANWHILE)
        watched = self.outage.stats_config()
        self._producer = Producer({**producer_config(settings), **watched})
        self._consumer = Consumer(
            {
                **client_config(settings),
                **watched,
                "group.id": f"streamwise-ask-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
        topic = self._consumer.list_topics(self._answers, timeout=10).topics[self._answers]
        self._consumer.assign(
            [TopicPartition(self._answers, p, OFFSET_END) for p in topic.partitions]
        )
        self._waiting: dict[str, tuple[threading.Event, list[Answer]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._route, name="answer-router", daemon=True)
        self._thread.start()

    def ask(
        self,
        text: str,
        *,
        customer_id: str | None = None,
        min_versions: dict[str, int] | None = None,
        timeout_s: float = 60.0,
    ) -> Answer:
        """Publish a question and return its answer; ``InvalidQuestion`` before publishing a
        question the pipeline could not take, ``AnswerTimeout`` if no answer came in time."""
        question_id, raw = question_event(
            text,
            customer_id=customer_id,
            min_versions=min_versions,
            wait_s=timeout_s / 2,  # leave the other half to retrieval and the model
        )
        if self.outage.ongoing:
            msg = "the broker is unreachable: the question cannot be published now; retry later"
            raise BrokerUnavailable(msg)
        arrived = threading.Event()
        slot: list[Answer] = []
        with self._lock:
            self._waiting[question_id] = (arrived, slot)
        try:
            self._producer.produce(self._questions, key=question_id, value=raw)
            if self._producer.flush(timeout_s) != 0:
                msg = f"could not publish the question to {self._questions!r}"
                raise BrokerUnavailable(msg)
            if not arrived.wait(timeout_s):
                msg = (
                    f"no answer to {question_id} within {timeout_s:g}s: are 'streamwise run "
                    "knowledge' and 'streamwise run rag' running against this broker?"
                )
                raise AnswerTimeout(msg)
            return slot[0]
        finally:
            with self._lock:
                self._waiting.pop(question_id, None)

    def rate(self, rating: AnswerRating, timeout_s: float = 10.0) -> None:
        """Publish ``rating`` to ``answer-ratings``; ``BrokerUnavailable`` if it was not taken."""
        if self.outage.ongoing:
            msg = "the broker is unreachable: the rating cannot be published now; retry later"
            raise BrokerUnavailable(msg)
        raw = encode_json(rating)
        self._producer.produce(self._ratings, key=rating.question_id, value=raw)
        if self._producer.flush(timeout_s) != 0:
            msg = f"could not publish the rating to {self._ratings!r}"
            raise BrokerUnavailable(msg)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()

    def _route(self) -> None:
        while not self._stop.is_set():
            message = self._consumer.poll(0.2)
            if message is None or message.error() is not None or message.value() is None:
                continue
            try:
                answer = Answer.model_validate(orjson.loads(message.value()))
            except ValueError:
                continue  # not an answer we can read; not ours to judge
            with self._lock:
                waiter = self._waiting.get(answer.question_id)
            if waiter is not None:
                waiter[1].append(answer)
                waiter[0].set()
