"""An LLM answer that breaks the schema is retried within its budget, then dead-lettered
with the model's raw output; good items still come out, answered by the real model.

The LLM is the real SmolLM2 served by a real Ollama; a stand-in in front of it injects one
fault, garbage instead of JSON for the texts that mention "gibberish", and relays the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models import OllamaChat, Retry
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.ollama_server import OllamaServer
from pipelines.feedback.analyzers.llm import LlmAnalyzer
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.settings import FeedbackSettings
from tests.kafkaio import produce, read
from tests.models.ollama_faults import ChatCall, FaultyOllama, Reply, chat_reply, forward_to
from tests.models.real_ollama import real_ollama

__all__ = ["real_ollama"]

GARBAGE = 'Sure! {"sentiment": "negative", "category": '
POISON_TEXT = "gibberish gibberish, and my email is bob@example.com"


@pytest.fixture(scope="module")
def server(real_ollama: OllamaServer) -> Iterator[FaultyOllama]:
    real = forward_to(real_ollama.host)

    def handle(call: ChatCall) -> Reply:
        user = next(m["content"] for m in call.body["messages"] if m["role"] == "user")
        return chat_reply(real_ollama.model, GARBAGE) if "gibberish" in user else real(call)

    with FaultyOllama(handle) as running:
        yield running


def test_schema_breaking_answer_lands_in_the_dlq_with_raw_output(
    settings: StreamwiseSettings, real_ollama: OllamaServer, server: FaultyOllama
) -> None:
    good = {
        "feedback_id": "g1",
        "ts": "2026-11-20T10:00:00Z",
        "source": "email",
        "text": "The delivery was late and the parcel was damaged. Very disappointed.",
    }
    poison = {"feedback_id": "p1", "ts": "2026-11-20T10:00:05Z", "source": "chat",
              "text": POISON_TEXT}  # fmt: skip
    feedback = FeedbackSettings(llm_attempts=2)
    papp = make_feedback_app(settings, feedback)  # creates the topics, partitioned as configured
    produce(settings, "feedback", [("g1", good), ("p1", poison)])
    chat = OllamaChat(real_ollama.model, server.host, retry=Retry(attempts=1))
    build(papp, feedback, LlmAnalyzer(chat, feedback.categories, max_key_phrases=3))
    papp.app.run(timeout=6)

    [enriched] = read(settings, "feedback-enriched", until=lambda r: len(r) >= 1, idle_s=1)
    assert enriched.json()["feedback_id"] == "g1"
    assert enriched.json()["model"] == f"ollama:{real_ollama.model}"
    assert enriched.json()["category"] in feedback.categories

    [dead] = read(settings, "feedback-dlq", until=lambda r: len(r) >= 1, idle_s=1)
    [sent] = [r for r in read(settings, "feedback", until=lambda r: len(r) >= 2) if r.key == b"p1"]
    # After the repartition by text hash, still the producer's key, bytes and position:
    assert dead.key == b"p1"
    assert dead.json() == poison
    assert dead.header("streamwise.source.topic") == settings.topic_prefix + "feedback"
    assert int(dead.header("streamwise.source.partition")) == sent.partition
    assert int(dead.header("streamwise.source.offset")) == sent.offset
    internal = [
        n for r in (dead, enriched) for n in r.headers if n.startswith("streamwise.origin.")
    ]
    assert not internal  # the origin headers stay inside the pipeline
    assert dead.header("streamwise.stage") == "analyze"
    assert dead.header("streamwise.error").startswith("ModelOutputInvalid")
    assert dead.header("streamwise.detail.raw") == GARBAGE
    assert dead.header("streamwise.detail.reason").startswith("not JSON")
    poison_calls = [body for body in server.calls if "gibberish" in str(body["messages"])]
    assert len(poison_calls) == 2  # the retry budget, no more
    assert all("bob@example.com" not in str(body) for body in server.calls)
