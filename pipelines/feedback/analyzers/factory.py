"""Build the analyzer ``FEEDBACK_ANALYZER`` names from the deployment's models."""

from __future__ import annotations

from models import LowRankAdapter, TokenEmbedder
from models.backends import make_embedder
from pipelines.common import backends
from pipelines.common.metered import MeteredEmbedder, MeteredTokenEmbedder
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.base import Analyzer
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.hybrid import HybridAnalyzer
from pipelines.feedback.analyzers.llm import LlmAnalyzer
from pipelines.feedback.analyzers.sentiment_head import (
    ADAPTER_PATH,
    SentimentClassifier,
    SentimentHead,
)
from pipelines.feedback.settings import FeedbackSettings


def pipeline_embedder(settings: StreamwiseSettings, feedback: FeedbackSettings) -> TokenEmbedder:
    """The configured embedding model, run on ``FEEDBACK_MODEL_THREADS`` threads.

    Torch's thread count is process-wide, so this is for a process of its own (the
    pipeline's, a benchmark's). With a thread count set, the model loads once more than
    ``backends.embedder``'s copy (torch weights and onnxruntime sessions are shared per
    model and thread count).
    """
    if feedback.model_threads is None:
        return backends.embedder(settings)
    return MeteredTokenEmbedder(_encoder(settings, feedback))


def _encoder(
    settings: StreamwiseSettings, feedback: FeedbackSettings, adapter: LowRankAdapter | None = None
) -> TokenEmbedder:
    return make_embedder(
        settings.embed_model if adapter is None else None,  # the adapter's: the bundled MiniLM
        backend=settings.embed_backend,
        cache_dir=settings.onnx_dir,
        threads=feedback.model_threads,
        adapter=adapter,
    )


def sentiment_classifier(
    settings: StreamwiseSettings, feedback: FeedbackSettings
) -> SentimentClassifier:
    """The shipped classifier: MiniLM with the sentiment adapter merged in, then the head.

    Always the MiniLM it was trained on, whatever ``STREAMWISE_EMBED_MODEL`` gives the
    vectors for search and categories.
    """
    tuned = _encoder(settings, feedback, LowRankAdapter.load(ADAPTER_PATH))
    return SentimentClassifier(MeteredEmbedder(tuned), SentimentHead.load())


def embedding_analyzer(
    settings: StreamwiseSettings, feedback: FeedbackSettings
) -> EmbeddingAnalyzer:
    return EmbeddingAnalyzer(
        pipeline_embedder(settings, feedback),
        sentiment_classifier(settings, feedback),
        feedback.taxonomy,
        min_similarity=feedback.category_min_similarity,
        max_key_phrases=feedback.max_key_phrases,
    )


def llm_analyzer(settings: StreamwiseSettings, feedback: FeedbackSettings) -> LlmAnalyzer:
    return LlmAnalyzer(
        backends.chat_model(settings),
        feedback.categories,
        max_key_phrases=feedback.max_key_phrases,
    )


def make_analyzer(settings: StreamwiseSettings, feedback: FeedbackSettings) -> Analyzer:
    """The configured analyzer; loads its models now, so a bad setup fails at start-up."""
    if feedback.analyzer == "embedding":
        return embedding_analyzer(settings, feedback)
    if feedback.analyzer == "llm":
        return llm_analyzer(settings, feedback)
    return HybridAnalyzer(
        embedding_analyzer(settings, feedback),
        llm_analyzer(settings, feedback),
        confidence=feedback.hybrid_confidence,
    )
