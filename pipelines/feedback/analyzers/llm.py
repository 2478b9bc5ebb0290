"""The LLM analyzer: one schema-constrained chat completion per item.

The production path with a capable model behind Ollama. The prompt names the allowed
categories and asks for phrases copied from the text; the answer schema (enums, score
range, phrase count) is enforced by the backend's constrained decoding where it can and
validated again by ``ChatModel``, so a broken answer raises ``ModelOutputInvalid`` with
the raw output, which the pipeline retries and then dead-letters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from models import ChatModel, JsonObject
from pipelines.feedback.analyzers.base import SENTIMENTS, Analysis, answer_schema

PROMPT_VERSION = 1

SYSTEM_PROMPT = """You analyse customer feedback for a support team.
Answer with one JSON object:
- "sentiment": "positive", "negative" or "neutral": how the customer feels;
- "sentiment_score": a number from -1 (very negative) to 1 (very positive), 0 if neutral;
- "key_phrases": up to {max_phrases} short phrases copied from the feedback, naming its topic;
- "category": the one topic it is mostly about, one of: {categories}."""

SENTIMENT_SYSTEM_PROMPT = """You judge how a customer feels in a piece of feedback.
Answer with one JSON object: "sentiment" ("positive", "negative" or "neutral") and
"sentiment_score", from -1 (very negative) to 1 (very positive), 0 if neutral."""

SENTIMENT_SCHEMA: JsonObject = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
        "sentiment_score": {"type": "number", "minimum": -1, "maximum": 1},
    },
    "required": ["sentiment", "sentiment_score"],
    "additionalProperties": False,
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


class LlmAnalyzer:
    """Sentiment, score, key phrases and category in one ``complete_json`` call."""

    def __init__(self, chat: ChatModel, categories: list[str], *, max_key_phrases: int) -> None:
        self._chat = chat
        self._system = SYSTEM_PROMPT.format(
            max_phrases=max_key_phrases, categories=", ".join(categories)
        )
        self._schema = answer_schema(categories, max_key_phrases)
        self.model_id = chat.model_id
        self.identity = f"llm-p{PROMPT_VERSION}:{_digest(self._system)}:{chat.model_id}"

    def analyze(self, text: str) -> Analysis:
        answer = self._chat.complete_json(self._system, text, self._schema)
        return Analysis(
            sentiment=answer["sentiment"],
            sentiment_score=float(answer["sentiment_score"]),
            key_phrases=tuple(answer["key_phrases"]),
            category=answer["category"],
            model=self.model_id,
        )

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """One completion per text: llama.cpp and Ollama decode one sequence at a time."""
        return [self.analyze(text) for text in texts]

    def sentiment(self, text: str) -> tuple[str, float]:
        """Only the sentiment and its score (what the hybrid analyzer asks for)."""
        answer = self._chat.complete_json(SENTIMENT_SYSTEM_PROMPT, text, SENTIMENT_SCHEMA)
        return str(answer["sentiment"]), float(answer["sentiment_score"])

    @property
    def sentiment_identity(self) -> str:
        return f"llm-sentiment-p{PROMPT_VERSION}:{_digest(SENTIMENT_SYSTEM_PROMPT)}:{self.model_id}"
