"""The hybrid analyzer: embeddings for everything, the LLM only where sentiment is unsure.

Category and key phrases always come from the embedding analyzer (cheap, and better
than a small LLM at both). Sentiment comes from the trained classifier unless its top
probability is below ``confidence``; then the LLM's sentiment is used. With a strong
model behind Ollama this spends LLM time only on the hard items.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pipelines.feedback.analyzers.base import Analysis
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.llm import LlmAnalyzer
from pipelines.feedback.analyzers.prototypes import CategorySpace, Prototypes
from pipelines.feedback.analyzers.sentiment_head import Floats, SentimentHead


class HybridAnalyzer:
    def __init__(
        self, embedding: EmbeddingAnalyzer, llm: LlmAnalyzer, *, confidence: float
    ) -> None:
        self._embedding, self._llm, self._confidence = embedding, llm, confidence
        self.model_id = f"hybrid:{embedding.model_id}+{llm.model_id}"
        self.identity = f"hybrid@{confidence}:{embedding.identity}:{llm.sentiment_identity}"

    @property
    def head(self) -> SentimentHead:
        return self._embedding.head

    @property
    def taxonomy_space(self) -> CategorySpace:
        return self._embedding.taxonomy_space

    @property
    def category_space(self) -> CategorySpace:
        return self._embedding.category_space

    @property
    def learned(self) -> Prototypes:
        return self._embedding.learned

    def refitted(self, head: SentimentHead, learned: Prototypes) -> HybridAnalyzer:
        """The embedding part refit (labels teach its head and prototypes); the LLM as is."""
        return HybridAnalyzer(self._embedding.refitted(head, learned), self._llm,
                              confidence=self._confidence)  # fmt: skip

    def lesson_inputs(self, texts: Sequence[str]) -> tuple[Floats, Floats]:
        return self._embedding.lesson_inputs(texts)

    def analyze(self, text: str) -> Analysis:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """The embedding analyzer on the whole batch, then the LLM on the unsure texts."""
        based = self._embedding.analyze_many_with_confidence(texts)
        return [self._settled(text, base, confidence)
                for text, (base, confidence) in zip(texts, based, strict=True)]  # fmt: skip

    def _settled(self, text: str, base: Analysis, confidence: float) -> Analysis:
        if confidence >= self._confidence:
            return dataclasses.replace(base, model=self.model_id)
        sentiment, score = self._llm.sentiment(text)
        return dataclasses.replace(
            base, sentiment=sentiment, sentiment_score=score, model=self.model_id
        )
