"""The embedding analyzer: two encoder passes per text, then plain vector arithmetic.

* sentiment: the trained classifier (MiniLM tuned for sentiment, a linear head over its
  vector and lexicon scores); the score is P(positive) - P(negative), so it lies in
  -1..1 and is near 0 when the classifier hesitates;
* category: the taxonomy category with a describing phrase most similar to the text,
  or ``other`` below ``min_similarity``;
* key phrases: candidate phrases ranked by similarity to the whole text, diversified
  by maximal marginal relevance so three phrases do not say the same thing.

The plain encoder's one pass over a text gives both its sentence vector (category,
search) and its token vectors: a candidate phrase's vector is the mean of its span's
token vectors (``TokenVectors.span_vector``), so the ~9 candidates of a text cost no
encoder pass of their own. Until version 3 each candidate was encoded alone, which took
more encoder time than the text itself; the few whose span is not found in the text's
word pieces (cut off at the sequence limit, or split differently in context) still are.
The sentiment-tuned encoder is a second pass: its adapter changes every layer, so it
cannot share the first.

Vectors are unit length, so every similarity is a dot product.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Sequence

import numpy as np

from models import TokenEmbedder, TokenVectors
from models.embeddings import Vectors
from pipelines.feedback.analyzers.base import Analysis
from pipelines.feedback.analyzers.phrases import candidates
from pipelines.feedback.analyzers.prototypes import CategorySpace, Prototypes
from pipelines.feedback.analyzers.sentiment_head import Floats, SentimentClassifier, SentimentHead

VERSION = 4
MMR_RELEVANCE = 0.7
SCORE_DECIMALS = 3


class EmbeddingAnalyzer:
    """Sentiment, category and key phrases from sentence embeddings alone (no LLM)."""

    def __init__(
        self,
        embedder: TokenEmbedder,
        sentiment: SentimentClassifier,
        taxonomy: dict[str, list[str]],
        *,
        min_similarity: float,
        max_key_phrases: int,
    ) -> None:
        self._embedder, self._sentiment = embedder, sentiment
        self._max_key_phrases = max_key_phrases
        described = np.asarray(
            embedder.embed([phrase for phrases in taxonomy.values() for phrase in phrases])
        )
        owners = tuple(name for name, phrases in taxonomy.items() for _ in phrases)
        self.taxonomy_space = CategorySpace(described, owners, min_similarity)
        self.category_space = self.taxonomy_space
        self.learned: Prototypes = {}
        config = json.dumps([taxonomy, min_similarity, max_key_phrases], sort_keys=True)
        self._config_digest = hashlib.sha256(config.encode()).hexdigest()[:8]
        self.model_id = f"embedding:{embedder.model_id}+sentiment-{sentiment.version}"
        self.identity = f"embedding-v{VERSION}:{self._config_digest}:{self.model_id}"

    @property
    def head(self) -> SentimentHead:
        """The sentiment head in use (the shipped one unless this is a refit)."""
        return self._sentiment.head

    def refitted(self, head: SentimentHead, learned: Prototypes) -> EmbeddingAnalyzer:
        """This analyzer with another head and learned category prototypes; the encoders
        are shared, so a refit costs no model load. Its identity and ``model_id`` add the
        version learned (``learning.py``), so cached analyses do not cross versions."""
        refit = copy.copy(self)
        refit._sentiment = self._sentiment.with_head(head)
        refit.category_space = self.taxonomy_space.with_learned(learned)
        refit.learned = learned
        refit.model_id = f"{self.model_id}+learned-{head.version}"
        refit.identity = f"{self.identity}+learned-{head.version}"
        return refit

    def lesson_inputs(self, texts: Sequence[str]) -> tuple[Floats, Floats]:
        """What a label teaches from: each text's head features and its plain vector."""
        return self._sentiment.features(texts), np.asarray(self._embedder.embed(texts))

    def analyze(self, text: str) -> Analysis:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """One analysis per text, from two encoder calls for the whole batch."""
        return [analysis for analysis, _ in self.analyze_many_with_confidence(texts)]

    def analyze_many_with_confidence(self, texts: Sequence[str]) -> list[tuple[Analysis, float]]:
        """Each analysis and the classifier's top class probability (the hybrid uses it).

        The plain encoder sees every text of the batch in one call, the sentiment-tuned
        one in another: batched, the encoder runs several times faster per text than
        called text by text.
        """
        phrases = [candidates(text) for text in texts]
        embedded = self._embedder.embed_tokens(texts)
        phrase_vectors = self._phrase_vectors(embedded, phrases)
        probabilities = self._sentiment.probabilities(texts)
        return [
            (self._analysis(text.vector, own, own_vectors, probs), max(probs.values()))
            for text, own, own_vectors, probs in zip(
                embedded, phrases, phrase_vectors, probabilities, strict=True
            )
        ]

    def _phrase_vectors(
        self, embedded: Sequence[TokenVectors], phrases: Sequence[list[str]]
    ) -> list[Floats]:
        """Each text's candidates' vectors: pooled from its own token vectors, encoded
        (all texts' leftovers in one call) only where the span is not found."""
        flat = list(itertools.chain(*phrases))
        owners = [i for i, own in enumerate(phrases) for _ in own]
        pooled = [
            embedded[owner].span_vector(ids)
            for owner, ids in zip(owners, self._embedder.token_ids(flat), strict=True)
        ]
        missing = [i for i, vector in enumerate(pooled) if vector is None]
        encoded = iter(self._embedder.embed([flat[i] for i in missing]))
        vectors = [vector if vector is not None else next(encoded) for vector in pooled]
        stacked = np.asarray(vectors, dtype=np.float64).reshape(-1, self._embedder.dimension)
        return np.split(stacked, np.cumsum([len(own) for own in phrases])[:-1])

    def _analysis(
        self, vector: Vectors, phrases: list[str], phrase_vectors: Floats, probs: dict[str, float]
    ) -> Analysis:
        return Analysis(
            sentiment=max(probs, key=lambda label: probs[label]),
            sentiment_score=round(probs["positive"] - probs["negative"], SCORE_DECIMALS),
            key_phrases=tuple(self._rank_phrases(vector, phrases, phrase_vectors)),
            category=self.category_space.category(vector),
            model=self.model_id,
            vector=tuple(float(x) for x in vector),
        )

    def _rank_phrases(
        self, vector: Vectors, phrases: list[str], phrase_vectors: Floats
    ) -> list[str]:
        if not phrases:
            return []
        relevance = phrase_vectors @ vector
        chosen: list[int] = []
        while len(chosen) < min(self._max_key_phrases, len(phrases)):
            best, best_score = -1, -np.inf
            for i in range(len(phrases)):
                if i in chosen or any(_overlaps(phrases[i], phrases[j]) for j in chosen):
                    continue
                redundancy = max((float(phrase_vectors[i] @ phrase_vectors[j]) for j in chosen),
                                 default=0.0)  # fmt: skip
                score = MMR_RELEVANCE * relevance[i] - (1 - MMR_RELEVANCE) * redundancy
                if score > best_score:
                    best, best_score = i, score
            if best < 0:
                break
            chosen.append(best)
        return [phrases[i] for i in chosen]


def _overlaps(a: str, b: str) -> bool:
    """Whether one phrase is a word-run inside the other ("late" and "days late")."""
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "
