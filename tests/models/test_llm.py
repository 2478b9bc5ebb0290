"""Chat models on real SmolLM2 output: in-process via llama.cpp and through a real Ollama.

Fakes appear only to inject faults (garbage, error statuses, silence, a closed port):
the stand-in of ``ollama_faults``, relaying to the real server where a fault precedes a
real answer or where a test reads what the adapter sent.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest

from models.errors import ModelConfigError, ModelOutputInvalid, ModelUnavailable
from models.llm import JsonObject, LlamaCppChat, OllamaChat, make_chat_model
from models.retry import Retry
from pipelines.devenv.ollama_server import OllamaServer
from tests.models.ollama_faults import (
    FaultyOllama,
    Reply,
    chat_reply,
    constant,
    forward_to,
    in_sequence,
    never_answers,
)
from tests.models.real_ollama import OLLAMA_MODEL

SYSTEM = "Classify the sentiment of the customer's message. Answer in JSON."
COMPLAINT = "The parcel arrived broken and support never replied. Awful."


def no_wait(attempts: int = 3) -> tuple[Retry, list[float]]:
    """A retry policy that records its waits instead of sleeping."""
    sleeps: list[float] = []
    return Retry(attempts=attempts, sleep=sleeps.append), sleeps


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- llama.cpp, in process -------------------------------------------------------------


def test_smollm2_answers_with_an_object_that_matches_the_schema(
    chat: LlamaCppChat, sentiment_schema: JsonObject
) -> None:
    answer = chat.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    jsonschema.validate(answer, sentiment_schema)
    assert set(answer) == {"sentiment"}


def test_the_same_prompt_gets_the_same_answer(
    chat: LlamaCppChat, sentiment_schema: JsonObject
) -> None:
    first = chat.complete_json(SYSTEM, "Great service, thank you!", sentiment_schema)
    second = chat.complete_json(SYSTEM, "Great service, thank you!", sentiment_schema)

    assert first == second


def test_concurrent_callers_get_the_answers_they_would_get_alone(
    chat: LlamaCppChat, sentiment_schema: JsonObject
) -> None:
    prompts = ["I love it.", COMPLAINT, "It is a chair."]
    alone = [chat.complete_json(SYSTEM, prompt, sentiment_schema) for prompt in prompts]

    with ThreadPoolExecutor(max_workers=len(prompts)) as pool:
        together = list(
            pool.map(lambda prompt: chat.complete_json(SYSTEM, prompt, sentiment_schema), prompts)
        )

    assert together == alone


def test_model_id_names_the_backend_and_the_gguf(chat: LlamaCppChat) -> None:
    assert chat.model_id == "llamacpp:SmolLM2-135M-Instruct.Q4_1"


def test_an_answer_cut_off_by_the_token_budget_is_invalid_and_keeps_the_raw_text(
    sentiment_schema: JsonObject,
) -> None:
    terse = LlamaCppChat(max_tokens=3)

    with pytest.raises(ModelOutputInvalid, match="max_tokens=3") as caught:
        terse.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert caught.value.raw.startswith("{")
    assert "max_tokens" in caught.value.reason


def test_generation_past_its_deadline_is_unavailable_after_the_retries(
    sentiment_schema: JsonObject,
) -> None:
    retry, sleeps = no_wait(attempts=2)
    hurried = LlamaCppChat(timeout_s=0.0, retry=retry)

    with pytest.raises(ModelUnavailable, match="did not finish"):
        hurried.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert len(sleeps) == 1


def test_a_prompt_longer_than_the_context_window_is_poison(sentiment_schema: JsonObject) -> None:
    small_context = LlamaCppChat(n_ctx=128)

    with pytest.raises(ModelOutputInvalid, match="context window"):
        small_context.complete_json(SYSTEM, "very long complaint " * 100, sentiment_schema)


def test_an_invalid_schema_is_a_config_error_before_anything_is_generated(
    chat: LlamaCppChat,
) -> None:
    with pytest.raises(ModelConfigError, match="invalid JSON schema"):
        chat.complete_json(SYSTEM, COMPLAINT, {"type": "frobnicate"})


def test_a_missing_gguf_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match=r"missing\.gguf"):
        LlamaCppChat(str(tmp_path / "missing.gguf"))


# --- Ollama, over HTTP -----------------------------------------------------------------


def test_ollama_chat_returns_the_served_models_valid_answer(
    real_ollama: OllamaServer, sentiment_schema: JsonObject
) -> None:
    ollama = OllamaChat(real_ollama.model, real_ollama.host)

    answer = ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    jsonschema.validate(answer, sentiment_schema)
    assert ollama.model_id == "ollama:smollm2:135m"


def test_ollama_keeps_the_model_loaded_between_items(
    real_ollama: OllamaServer, sentiment_schema: JsonObject
) -> None:
    """Ollama's default unloads a model idle for 5 minutes; ours asks it to stay."""
    OllamaChat(real_ollama.model, real_ollama.host).complete_json(SYSTEM, "Fine.", sentiment_schema)

    [loaded] = httpx.get(f"{real_ollama.host}/api/ps").json()["models"]
    expires = datetime.fromisoformat(loaded["expires_at"])
    assert expires > datetime.now(UTC) + timedelta(days=365), loaded["expires_at"]


def test_ollama_is_asked_for_the_schema_at_temperature_zero_without_streaming(
    real_ollama: OllamaServer, sentiment_schema: JsonObject
) -> None:
    with FaultyOllama(forward_to(real_ollama.host)) as tap:
        answer = OllamaChat(real_ollama.model, tap.host).complete_json(
            SYSTEM, "Fine.", sentiment_schema
        )

    jsonschema.validate(answer, sentiment_schema)
    request = tap.calls[-1]
    assert request["format"] == sentiment_schema
    assert request["options"]["temperature"] == 0
    assert request["stream"] is False
    assert request["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Fine."},
    ]


def test_an_outage_that_clears_is_retried_to_a_real_answer(
    real_ollama: OllamaServer, sentiment_schema: JsonObject
) -> None:
    retry, sleeps = no_wait()
    overloaded = constant(Reply(503, {"error": "server busy"}))
    with FaultyOllama(in_sequence(overloaded, forward_to(real_ollama.host))) as server:
        answer = OllamaChat(real_ollama.model, server.host, retry=retry).complete_json(
            SYSTEM, COMPLAINT, sentiment_schema
        )

    jsonschema.validate(answer, sentiment_schema)
    assert len(sleeps) == 1


def test_garbage_from_the_model_is_invalid_output_with_the_raw_text(
    sentiment_schema: JsonObject,
) -> None:
    retry, sleeps = no_wait()
    with FaultyOllama(constant(chat_reply(OLLAMA_MODEL, "sure! {sentiment: nope"))) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host, retry=retry)
        with pytest.raises(ModelOutputInvalid, match="not JSON") as caught:
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert caught.value.raw == "sure! {sentiment: nope"
    assert sleeps == []  # the same input would fail the same way


def test_json_that_breaks_the_schema_is_invalid_output_naming_the_field(
    sentiment_schema: JsonObject,
) -> None:
    with FaultyOllama(constant(chat_reply(OLLAMA_MODEL, '{"sentiment": "ecstatic"}'))) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host)
        with pytest.raises(ModelOutputInvalid) as caught:
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert "$.sentiment" in caught.value.reason
    assert "ecstatic" in caught.value.reason


def test_a_json_array_is_not_an_answer(sentiment_schema: JsonObject) -> None:
    with FaultyOllama(constant(chat_reply(OLLAMA_MODEL, '["negative"]'))) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host)
        with pytest.raises(ModelOutputInvalid, match="expected a JSON object, got list"):
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)


def test_a_server_that_is_down_is_unavailable_after_the_bounded_retries(
    sentiment_schema: JsonObject,
) -> None:
    retry, sleeps = no_wait(attempts=3)
    ollama = OllamaChat(OLLAMA_MODEL, f"http://127.0.0.1:{closed_port()}", retry=retry)

    with pytest.raises(ModelUnavailable, match="unreachable"):
        ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert len(sleeps) == 2


def test_a_server_that_never_answers_times_out_as_unavailable(
    sentiment_schema: JsonObject,
) -> None:
    retry, sleeps = no_wait(attempts=2)
    with FaultyOllama(never_answers) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host, timeout_s=0.2, retry=retry)
        with pytest.raises(ModelUnavailable, match=r"did not answer within 0\.2s"):
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)

    assert len(sleeps) == 1


def test_an_unknown_model_is_a_config_error_without_retries(
    real_ollama: OllamaServer, sentiment_schema: JsonObject
) -> None:
    retry, sleeps = no_wait()

    with pytest.raises(ModelConfigError, match="not found"):
        OllamaChat("llama3.2", real_ollama.host, retry=retry).complete_json(
            SYSTEM, COMPLAINT, sentiment_schema
        )

    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, ModelUnavailable),
        (503, ModelUnavailable),
        (429, ModelUnavailable),
        (400, ModelConfigError),
    ],
)
def test_http_errors_are_classified_by_status(
    status: int, error: type[Exception], sentiment_schema: JsonObject
) -> None:
    with FaultyOllama(constant(Reply(status, {"error": "nope"}))) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host, retry=Retry(attempts=1))
        with pytest.raises(error, match=f"HTTP {status}"):
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)


def test_a_response_that_is_not_ollamas_is_unavailable_not_poison(
    sentiment_schema: JsonObject,
) -> None:
    with FaultyOllama(constant(Reply(200, "<html>proxy says hi</html>"))) as server:
        ollama = OllamaChat(OLLAMA_MODEL, server.host, retry=Retry(attempts=1))
        with pytest.raises(ModelUnavailable, match="malformed response"):
            ollama.complete_json(SYSTEM, COMPLAINT, sentiment_schema)


# --- choosing a backend ----------------------------------------------------------------


def test_the_llamacpp_backend_defaults_to_the_bundled_smollm2() -> None:
    model = make_chat_model("llamacpp", None, "http://127.0.0.1:11434")

    assert model.model_id == "llamacpp:SmolLM2-135M-Instruct.Q4_1"


def test_the_ollama_backend_uses_the_named_model() -> None:
    model = make_chat_model("ollama", "llama3.2", "http://127.0.0.1:11434")

    assert isinstance(model, OllamaChat)
    assert model.model_id == "ollama:llama3.2"


def test_the_ollama_backend_without_a_model_name_is_a_config_error() -> None:
    with pytest.raises(ModelConfigError, match="needs a model name"):
        make_chat_model("ollama", None, "http://127.0.0.1:11434")


def test_an_unknown_backend_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ModelConfigError, match=r"'openai'.*llamacpp, ollama"):
        make_chat_model("openai", "gpt-4o", "http://127.0.0.1:11434")
