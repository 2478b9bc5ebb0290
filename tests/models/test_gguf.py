"""The Q8_0 copy of a small GGUF: built once from the real bundled SmolLM2, then reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.gguf import fast_weights
from models.llm import LlamaCppChat, default_llm_model_path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.fixture(scope="module")
def q8_0(cache: Path) -> Path:
    return fast_weights(default_llm_model_path(), cache)


def test_the_bundled_q4_1_runs_as_a_q8_0_copy_built_once(cache: Path, q8_0: Path) -> None:
    built = q8_0.stat().st_mtime_ns

    again = fast_weights(default_llm_model_path(), cache)

    assert q8_0.parent == cache
    assert q8_0.name.endswith(".q8_0.gguf")
    assert again == q8_0
    assert again.stat().st_mtime_ns == built
    assert not list(cache.glob("*.partial"))


def test_a_file_already_in_a_fast_type_is_kept(cache: Path, q8_0: Path) -> None:
    assert fast_weights(q8_0, cache) == q8_0


def test_off_keeps_the_file_as_it_is(tmp_path: Path) -> None:
    source = default_llm_model_path()

    assert fast_weights(source, tmp_path, "off") == source
    assert not list(tmp_path.iterdir())


def test_the_chat_model_on_the_copy_says_so_and_answers(cache: Path, q8_0: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}},
        "required": ["sentiment"],
    }
    chat = LlamaCppChat(cache_dir=cache)

    answer = chat.complete_json(
        "Classify the sentiment of the customer's message.", "Broken on arrival. Awful.", schema
    )

    assert chat.model_id == "llamacpp:SmolLM2-135M-Instruct.Q4_1+q8_0"
    assert answer["sentiment"] in {"positive", "negative", "neutral"}
