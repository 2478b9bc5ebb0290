"""What an analyzer says about one text, the JSON schema it must satisfy, and the Protocol.

Every analyzer (LLM, embedding, hybrid) produces the same ``Analysis``; the enricher
checks ``analysis_schema`` on all of them with ``models.validate_answer`` before anything
is published, so a bug or a model gone astray becomes a dead letter with the offending
output, never a malformed contract event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from models import JsonObject

SENTIMENTS = ("positive", "negative", "neutral")
MAX_PHRASE_CHARS = 80


@dataclass(frozen=True)
class Analysis:
    """Sentiment, score (-1..1), key phrases, category, and which model said so.

    ``vector`` is the text's embedding when the analyzer computed it anyway; it saves
    the vector-store sink an embedding and is never cached or compared.
    """

    sentiment: str
    sentiment_score: float
    key_phrases: tuple[str, ...]
    category: str
    model: str
    vector: tuple[float, ...] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> JsonObject:
        """The cacheable, publishable part (no vector)."""
        return {
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "key_phrases": list(self.key_phrases),
            "category": self.category,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, raw: JsonObject) -> Analysis:
        return cls(
            sentiment=raw["sentiment"],
            sentiment_score=float(raw["sentiment_score"]),
            key_phrases=tuple(raw["key_phrases"]),
            category=raw["category"],
            model=raw["model"],
        )


class Analyzer(Protocol):
    """Turns (already masked) texts into ``Analysis`` objects, one or a batch at a time;
    an analysis does not depend on which batch its text came in."""

    identity: str
    """Analyzer kind, prompt/head version and model ids: a cache key part. Change any of
    them and cached answers no longer apply."""

    def analyze(self, text: str) -> Analysis: ...

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]: ...


def answer_schema(categories: Sequence[str], max_key_phrases: int) -> JsonObject:
    """The schema of an analysis as a model is asked to produce it (no ``model`` field)."""
    return {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
            "sentiment_score": {"type": "number", "minimum": -1, "maximum": 1},
            "key_phrases": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_PHRASE_CHARS},
                "maxItems": max_key_phrases,
            },
            "category": {"type": "string", "enum": list(categories)},
        },
        "required": ["sentiment", "sentiment_score", "key_phrases", "category"],
        "additionalProperties": False,
    }


def analysis_schema(categories: Sequence[str], max_key_phrases: int) -> JsonObject:
    """The schema every published analysis satisfies: the answer plus a non-empty ``model``."""
    schema = answer_schema(categories, max_key_phrases)
    return {
        **schema,
        "properties": {**schema["properties"], "model": {"type": "string", "minLength": 1}},
        "required": [*schema["required"], "model"],
    }
