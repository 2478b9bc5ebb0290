"""Real models for the feedback tests, loaded once per session, and a call-counting analyzer."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import pytest

from models import SentenceTransformerEmbedder
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.base import Analysis, Analyzer
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.factory import sentiment_classifier
from pipelines.feedback.settings import FeedbackSettings


class CountingAnalyzer:
    """A real analyzer that records every text it is asked about (to count model calls)."""

    def __init__(self, inner: Analyzer) -> None:
        self._inner = inner
        self.identity = inner.identity
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def analyze(self, text: str) -> Analysis:
        with self._lock:
            self.calls[text] += 1
        return self._inner.analyze(text)

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        with self._lock:
            self.calls.update(texts)
        return self._inner.analyze_many(texts)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def embedding_analyzer(embedder: SentenceTransformerEmbedder) -> EmbeddingAnalyzer:
    defaults = FeedbackSettings(model_threads=None)
    return EmbeddingAnalyzer(
        embedder,
        sentiment_classifier(StreamwiseSettings(), defaults),
        defaults.taxonomy,
        min_similarity=defaults.category_min_similarity,
        max_key_phrases=defaults.max_key_phrases,
    )
