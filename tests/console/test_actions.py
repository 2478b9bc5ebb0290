"""The console's POST routes on the real broker: who may act, what a bad body gets, what is
published. A bad body is ``400`` with one sentence and nothing reaches the topic; with a
tokens file only staff act and the token's name is the analyst or labeller."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from pipelines.common.access import DASHBOARD_ACCESS
from pipelines.common.auth import new_token, parse_tokens
from pipelines.common.clients import create_registry_topics
from pipelines.common.http import serving
from pipelines.common.settings import StreamwiseSettings
from pipelines.console.server import make_app
from tests.kafkaio import read

STAFF, STAFF_LINE = new_token("ana", "staff")
CUSTOMER, CUSTOMER_LINE = new_token("app-c1", "customer:c-1")


@pytest.fixture
def guarded(settings: StreamwiseSettings) -> Iterator[str]:
    """The console with a tokens file (staff ``ana``, a customer); its base URL."""
    create_registry_topics(settings, DASHBOARD_ACCESS.topics)
    app, _ = make_app(settings, parse_tokens(STAFF_LINE + CUSTOMER_LINE, "tokens"))
    with serving(app, "127.0.0.1", 0, what="the console") as port:
        yield f"http://127.0.0.1:{port}"


def post(url: str, body: object, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url, json=body, headers=headers, timeout=30)


def test_with_tokens_only_staff_act_and_the_token_names_the_analyst(
    guarded: str, settings: StreamwiseSettings
) -> None:
    verdict = {"alert_id": "a1", "verdict": "fraud", "analyst": "someone-else"}
    assert post(guarded + "/api/fraud/verdicts", verdict).status_code == 401
    assert post(guarded + "/api/fraud/verdicts", verdict, CUSTOMER).status_code == 403
    assert post(guarded + "/api/feedback/labels", {"feedback_id": "f1", "sentiment": "neutral"},
                CUSTOMER).status_code == 403  # fmt: skip
    for path in ("/api/fraud", "/api/knowledge", "/api/summary"):
        assert httpx.get(guarded + path, timeout=30).status_code == 401

    answer = post(guarded + "/api/fraud/verdicts", verdict, STAFF)
    assert answer.status_code == 202
    assert answer.json()["analyst"] == "ana"
    label = post(guarded + "/api/feedback/labels", {"feedback_id": "f1", "category": "billing"},
                 STAFF)  # fmt: skip
    assert label.json()["labeller"] == "ana"

    [published] = [r.json() for r in read(settings, "fraud-verdicts", until=bool)]
    assert (published["alert_id"], published["analyst"]) == ("a1", "ana")
    [labelled] = [r.json() for r in read(settings, "feedback-labels", until=bool)]
    assert (labelled["feedback_id"], labelled["category"], labelled["labeller"]) == (
        "f1", "billing", "ana")  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/fraud/verdicts", {"alert_id": "a1", "verdict": "maybe"}, "verdict: Input should be"),
        ("/api/fraud/verdicts", {"verdict": "fraud"}, "alert_id: Field required"),
        ("/api/fraud/verdicts", {"alert_id": "a1", "verdict": "fraud", "ts": "x"},
         "unknown field 'ts'"),
        ("/api/fraud/verdicts", ["a1", "fraud"], "body must be a JSON object"),
        ("/api/feedback/labels", {"feedback_id": "f1"}, "a label needs a sentiment, a category"),
        ("/api/feedback/labels", {"feedback_id": "f1", "sentiment": "angry"},
         "sentiment: Input should be"),
    ],
)  # fmt: skip
def test_a_bad_body_is_400_with_one_reason_and_nothing_is_published(
    guarded: str, settings: StreamwiseSettings, path: str, body: object, reason: str
) -> None:
    answer = post(guarded + path, body, STAFF)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert "\n" not in answer.json()["error"]
    topic = "fraud-verdicts" if "fraud" in path else "feedback-labels"
    assert read(settings, topic, timeout_s=1.5) == []


def test_a_form_post_from_another_page_is_refused(
    guarded: str, settings: StreamwiseSettings
) -> None:
    """A cross-site form can send ``text/plain`` that parses as JSON; only JSON is taken."""
    headers = {"Authorization": f"Bearer {STAFF}", "Content-Type": "text/plain"}
    body = b'{"alert_id": "a1", "verdict": "legitimate"}'
    form = httpx.post(guarded + "/api/fraud/verdicts", content=body, headers=headers, timeout=30)
    assert form.status_code == 415
    assert read(settings, "fraud-verdicts", timeout_s=1.5) == []


def test_without_tokens_only_this_machine_may_act(settings: StreamwiseSettings) -> None:
    """Starlette's test client calls from the address ``testclient``: not loopback."""
    create_registry_topics(settings, DASHBOARD_ACCESS.topics)
    app, _ = make_app(settings)
    remote = TestClient(app).post("/api/fraud/verdicts", json={"alert_id": "a", "verdict": "fraud"})
    assert remote.status_code == 403
    assert remote.json() == {"error": "without a tokens file only this machine may act"}
    assert read(settings, "fraud-verdicts", timeout_s=1.5) == []
