"""Real models, loaded once per test session, and the real Ollama serving SmolLM2."""

from __future__ import annotations

import pytest

from models.embeddings import SentenceTransformerEmbedder
from models.llm import JsonObject, LlamaCppChat
from tests.models.real_ollama import real_ollama

__all__ = ["real_ollama"]


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The default all-MiniLM-L6-v2 embedder from the wheel."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def chat() -> LlamaCppChat:
    """The default SmolLM2-135M-Instruct GGUF through llama.cpp."""
    return LlamaCppChat()


@pytest.fixture
def sentiment_schema() -> JsonObject:
    return {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]}
        },
        "required": ["sentiment"],
    }
