"""serve's rating route on the real broker, without the RAG pipeline or a model.

The test plays the RAG pipeline: it reads each question serve publishes on ``questions``
and writes its answer to ``answers``, so serve returns it and then takes its ratings.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pipelines.common.auth import Principal, new_token, parse_tokens
from pipelines.common.http import serving
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.ratings import Asked, RecentAnswers
from pipelines.knowledge.replies import AnswerRouter
from pipelines.knowledge.serve import make_app
from tests.kafkaio import produce, read
from tests.knowledge.ratings import answer

STAFF, STAFF_LINE = new_token("agent-7", "staff")
C1, C1_LINE = new_token("app-c1", "customer:c-1")
C2, C2_LINE = new_token("app-c2", "customer:c-2")


class Serve:
    """A serve app on a free port, and the questions it has published so far."""

    def __init__(self, settings: StreamwiseSettings, base: str) -> None:
        self.settings, self.base = settings, base
        self.asked: list[str] = []

    def ask(self, token: str, **body: Any) -> str:
        """Ask as ``token`` and answer the question as the RAG pipeline would; its id."""
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                httpx.post, f"{self.base}/v1/ask", headers=bearer(token), timeout=70,
                json={"text": "Is there a warranty on electronics?", "timeout_s": 60, **body},
            )  # fmt: skip
            questions = read(self.settings, "questions", until=lambda r: len(r) > len(self.asked))
            # the new one, wherever it is: poll order is not publish order across partitions
            [question_id] = {str(r.json()["question_id"]) for r in questions} - set(self.asked)
            produce(self.settings, "answers", [(question_id, answer(question_id, "ok", 90, "w"))])
            assert pending.result().status_code == 200
        self.asked.append(question_id)
        return question_id

    def rate(self, question_id: str, token: str | None, body: Any) -> httpx.Response:
        url = f"{self.base}/v1/answers/{question_id}/rating"
        if isinstance(body, bytes):
            return httpx.post(url, content=body, headers=bearer(token), timeout=30)
        return httpx.post(url, json=body, headers=bearer(token), timeout=30)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def serve(settings: StreamwiseSettings) -> Iterator[Serve]:
    principals = parse_tokens(STAFF_LINE + C1_LINE + C2_LINE, "tokens")
    router = AnswerRouter(settings)
    try:
        with serving(make_app(router, principals), "127.0.0.1", 0, what="POST /v1/ask") as port:
            yield Serve(settings, f"http://127.0.0.1:{port}")
    finally:
        router.close()


def test_ratings_take_the_scope_of_the_answers_question_and_refusals_publish_nothing(
    serve: Serve,
) -> None:
    own = serve.ask(C1)  # a customer token asking for no one: its customer's answer
    for_c2 = serve.ask(STAFF, customer_id="c-2")

    assert serve.rate(own, None, {"rating": "up"}).status_code == 401
    assert serve.rate(own, "not-a-token", {"rating": "up"}).status_code == 401
    other = serve.rate(own, C2, {"rating": "up"})
    assert (other.status_code, other.json()) == (
        403, {"error": "token 'app-c2' may not rate another customer's answer"}
    )  # fmt: skip
    assert serve.rate(for_c2, C1, {"rating": "down"}).status_code == 403
    unknown = serve.rate("ask-unknown", C1, {"rating": "up"})
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": "no answer 'ask-unknown' to rate"},
    )
    bad = serve.rate(own, C1, {"rating": "meh"})
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("invalid rating: rating: Input should be 'up' or 'down'")
    assert serve.rate(own, C1, b"up").status_code == 400
    assert serve.rate(own, C1, {"rating": "up", "stars": 5}).status_code == 400

    taken = serve.rate(own, C1, {"rating": "down", "comment": "wrong refund period"})
    assert taken.status_code == 202
    assert {k: v for k, v in taken.json().items() if k != "ts"} == {
        "question_id": own, "rating": "down", "comment": "wrong refund period"
    }  # fmt: skip
    assert serve.rate(for_c2, STAFF, {"rating": "up"}).status_code == 202

    ratings = read(serve.settings, "answer-ratings", until=lambda r: len(r) >= 2, idle_s=2)
    by_question = {r.key: r.json() for r in ratings}  # two keys, maybe two partitions: any order
    assert len(ratings) == len(by_question) == 2
    assert by_question[own.encode()] == taken.json()
    assert by_question[for_c2.encode()]["rating"] == "up"
    paths = httpx.get(f"{serve.base}/openapi.json", headers=bearer(STAFF)).json()["paths"]
    assert "/v1/answers/{question_id}/rating" in paths


def test_serve_forgets_its_oldest_answers_past_its_capacity() -> None:
    recent = RecentAnswers(capacity=2)
    for question_id in ("q1", "q2", "q3"):
        recent.remember(question_id, Asked("c-1"))

    assert [recent.asked(q) for q in ("q1", "q2", "q3")] == [None, Asked("c-1"), Asked("c-1")]


def test_an_answer_asked_for_no_one_is_rated_by_staff_or_without_tokens_only() -> None:
    staff, c1 = Principal("agent-7", "staff"), Principal("app-c1", "customer:c-1")
    by_staff, by_c1 = Asked.by(None, staff), Asked.by(None, c1)

    assert (by_staff.customer_id, by_c1.customer_id) == (None, "c-1")
    assert [by_staff.may_be_rated_by(p) for p in (None, staff, c1)] == [True, True, False]
    assert [by_c1.may_be_rated_by(p) for p in (None, staff, c1)] == [True, True, True]
