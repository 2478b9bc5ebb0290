"""Real models, loaded once per test session, and an Ollama-compatible server in front of one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.embeddings import SentenceTransformerEmbedder
from models.llm import JsonObject, LlamaCppChat
from tests.models.ollama_server import SERVED_MODEL, OllamaServer, answer_with


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The default all-MiniLM-L6-v2 embedder from the wheel."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def chat() -> LlamaCppChat:
    """The default SmolLM2-135M-Instruct GGUF through llama.cpp."""
    return LlamaCppChat()


@pytest.fixture(scope="session")
def ollama_server(chat: LlamaCppChat) -> Iterator[OllamaServer]:
    """An Ollama-compatible server answering with the real SmolLM2 as ``smollm2``."""
    with OllamaServer(answer_with(chat, SERVED_MODEL)) as server:
        yield server


@pytest.fixture
def sentiment_schema() -> JsonObject:
    return {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]}
        },
        "required": ["sentiment"],
    }
