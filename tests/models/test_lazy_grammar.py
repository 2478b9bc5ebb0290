"""The lazy grammar sampler picks exactly the tokens the eager one does (real SmolLM2)."""

from __future__ import annotations

import json

import pytest
from llama_cpp import Llama

from models.lazy_grammar import LazyGrammarLlama
from models.llm import _grammar, default_llm_model_path

CASES = [
    (
        "Answer from the passages only. Reply with JSON.",
        "<<<CONTEXT>>>\n[1] Debian releases are named after Toy Story characters.\n"
        "[2] The stable release gets security updates.\n<<<END CONTEXT>>>\n"
        "<<<QUESTION>>>\nWhere do release names come from?\n<<<END QUESTION>>>",
        {
            "type": "object",
            "properties": {
                "answer": {"type": "string", "minLength": 1, "maxLength": 300},
                "sources": {"type": "array", "items": {"type": "integer", "enum": [1, 2]}},
            },
            "required": ["answer", "sources"],
        },
    ),
    (
        "Classify the sentiment of the customer's message.",
        "The parcel arrived broken and support never replied. Awful.",
        {
            "type": "object",
            "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}},
            "required": ["sentiment"],
        },
    ),
    (
        "You write short notes for card-fraud analysts.",
        "Alert facts: card used in London, then in Paris 40 seconds later (344 km).",
        {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]},
    ),
]


@pytest.fixture(scope="module")
def engines() -> tuple[Llama, Llama]:
    path = str(default_llm_model_path())
    return (
        Llama(model_path=path, n_ctx=1024, verbose=False),
        LazyGrammarLlama(model_path=path, n_ctx=1024, verbose=False),
    )


@pytest.mark.parametrize(("system", "user", "schema"), CASES, ids=["rag", "sentiment", "note"])
def test_lazy_and_eager_grammar_give_the_same_answer(
    engines: tuple[Llama, Llama], system: str, user: str, schema: dict[str, object]
) -> None:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    eager, lazy = (
        engine.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            temperature=0.0,
            grammar=_grammar(json.dumps(schema)),
            max_tokens=120,
        )["choices"][0]["message"]["content"]  # type: ignore[index]
        for engine in engines
    )

    assert lazy == eager
    json.loads(lazy or "")  # the grammar still held: whole JSON
