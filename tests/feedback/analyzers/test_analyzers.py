"""The analyzers on the real models: what each returns, and when the hybrid asks the LLM."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from models import JsonObject, LlamaCppChat, validate_answer
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.base import analysis_schema
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.analyzers.factory import make_analyzer, sentiment_classifier
from pipelines.feedback.analyzers.hybrid import HybridAnalyzer
from pipelines.feedback.analyzers.llm import LlmAnalyzer
from pipelines.feedback.analyzers.sentiment_head import HeadMismatch, SentimentHead
from pipelines.feedback.generator import generate
from pipelines.feedback.settings import FeedbackSettings

SCHEMA = analysis_schema(FeedbackSettings().categories, 3)


class CountingChat:
    """The real chat model, counting the calls made to it."""

    def __init__(self, inner: LlamaCppChat) -> None:
        self._inner, self.model_id, self.calls = inner, inner.model_id, Counter[str]()

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        self.calls[user] += 1
        return self._inner.complete_json(system, user, schema)


@pytest.fixture(scope="module")
def chat() -> CountingChat:
    return CountingChat(LlamaCppChat())


def test_a_batch_gives_every_text_the_analysis_it_gets_alone(
    embedding_analyzer: EmbeddingAnalyzer,
) -> None:
    """Batch sizes 1 and 32 on the same texts: the same labels and phrases, and scores and
    vectors equal up to floating-point noise (padding changes the summation order)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    texts = [
        item["text"]
        for item in generate(32, start=start, spacing=timedelta(seconds=1), seed=5, unique=True)
    ]

    alone = [embedding_analyzer.analyze(text) for text in texts]
    batched = embedding_analyzer.analyze_many(texts)

    assert [(a.sentiment, a.category, a.key_phrases) for a in batched] == [
        (a.sentiment, a.category, a.key_phrases) for a in alone
    ]
    for one, many in zip(alone, batched, strict=True):
        assert many.sentiment_score == pytest.approx(one.sentiment_score, abs=0.0011)
        assert many.vector == pytest.approx(one.vector, abs=1e-5)


def test_the_embedding_analyzer_keeps_its_vector_and_fits_the_schema(
    embedding_analyzer: EmbeddingAnalyzer,
) -> None:
    analysis = embedding_analyzer.analyze("The app crashes every time I open my basket.")
    validate_answer({**analysis.to_json()}, SCHEMA)
    assert analysis.category == "app/website"
    assert analysis.vector is not None
    assert len(analysis.vector) == 384
    assert "vector" not in analysis.to_json()


def test_the_default_analyzer_is_the_embedding_one_and_names_its_sentiment_model() -> None:
    feedback = FeedbackSettings(model_threads=None)
    analyzer = make_analyzer(StreamwiseSettings(), feedback)
    assert isinstance(analyzer, EmbeddingAnalyzer)
    assert (
        f"+sentiment-{sentiment_classifier(StreamwiseSettings(), feedback).version}"
        in analyzer.model_id
    )
    assert analyzer.model_id in analyzer.identity


def test_the_shipped_classifier_tells_praise_from_complaint() -> None:
    classifier = sentiment_classifier(StreamwiseSettings(), FeedbackSettings(model_threads=None))
    praise, complaint, fact = classifier.probabilities([
        "Not bad at all, the support agent sorted it out in minutes.",
        "Two weeks late and nobody answers my emails. Never again.",
        "The parcel was delivered on Tuesday.",
    ])  # fmt: skip
    assert max(praise, key=praise.__getitem__) == "positive"
    assert max(complaint, key=complaint.__getitem__) == "negative"
    assert max(fact, key=fact.__getitem__) == "neutral"


def test_a_head_trained_on_another_model_is_refused() -> None:
    with pytest.raises(HeadMismatch, match="retrain"):
        SentimentHead.load().check_model("some/other-model")


def test_the_llm_analyzer_answers_within_the_schema(chat: CountingChat) -> None:
    llm = LlmAnalyzer(chat, FeedbackSettings().categories, max_key_phrases=3)
    analysis = llm.analyze("I was charged twice for my order and want a refund.")
    validate_answer(analysis.to_json(), SCHEMA)
    assert analysis.model == "llamacpp:SmolLM2-135M-Instruct.Q4_1"
    assert llm.identity.startswith("llm-p1:")


def test_the_hybrid_asks_the_llm_only_when_the_head_hesitates(
    embedding_analyzer: EmbeddingAnalyzer, chat: CountingChat
) -> None:
    llm = LlmAnalyzer(chat, FeedbackSettings().categories, max_key_phrases=3)
    sure = HybridAnalyzer(embedding_analyzer, llm, confidence=0.0)
    always = HybridAnalyzer(embedding_analyzer, llm, confidence=1.0)
    text = "Absolutely love the new headphones, fantastic sound."
    quick = sure.analyze(text)
    assert chat.calls[text] == 0
    asked = always.analyze(text)
    assert chat.calls[text] == 1
    assert quick.category == asked.category  # category and phrases stay the embedding's
    assert quick.key_phrases == asked.key_phrases
    assert asked.model.startswith("hybrid:embedding:")
    assert sure.identity != always.identity
