"""The sentiment classifier: MiniLM tuned for sentiment, then a linear softmax head.

Both parts are trained together by ``python -m bench.training.train_sentiment`` on
public human-rated snippets (see ``bench/training/labeled.py``) and ship as two small files: the
encoder's low-rank adapter (``sentiment_adapter.npz``, merged into a copy of MiniLM at
load time) and the head (``sentiment_head.json``). The head's features are the tuned
embedding followed by the four scores of the VADER lexicon (neg, neu, pos, compound);
inference is one matrix product in numpy, so the runtime needs neither the training
code nor its data. The head only makes sense on vectors from the model it was trained
on, so it records that model's id (the adapter's digest included) and refuses any other.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from models import Embedder

INT8_SUFFIX = "+int8"
HEAD_PATH = Path(__file__).with_name("sentiment_head.json")
ADAPTER_PATH = Path(__file__).with_name("sentiment_adapter.npz")

Floats = npt.NDArray[np.float64]


class _Vader(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


@functools.cache
def _vader() -> _Vader:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: PLC0415
    except ImportError as exc:
        msg = "the sentiment head needs the VADER lexicon: pip install vaderSentiment==3.3.2"
        raise ImportError(msg) from exc
    analyzer: _Vader = SentimentIntensityAnalyzer()
    return analyzer


def lexicon_scores(texts: Sequence[str]) -> Floats:
    """VADER's (neg, neu, pos, compound) per text: the head's last four features."""
    scores = [_vader().polarity_scores(text) for text in texts]
    return np.asarray([[s["neg"], s["neu"], s["pos"], s["compound"]] for s in scores])


def features(vectors: Sequence[Sequence[float]] | Floats, texts: Sequence[str]) -> Floats:
    """The head's input: each text's embedding, then its four lexicon scores."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2 or len(matrix) != len(texts):
        msg = f"expected one vector per text ({len(texts)}), got shape {matrix.shape}"
        raise ValueError(msg)
    return np.hstack([matrix, lexicon_scores(texts)])


class HeadMismatch(ValueError):
    """The head was trained on another embedding model's vectors."""


@dataclass(frozen=True)
class SentimentHead:
    """Class probabilities of a text from its features ``x``: ``softmax(W x + b)``."""

    labels: tuple[str, ...]
    weights: Floats  # (classes, embedding dimension + 4 lexicon scores)
    bias: Floats  # (classes,)
    embed_model_id: str
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        """Short digest of the weights: part of every cache key built on this head.

        A refit head carries its own (``learning.py``, from its base and its labels), so
        the version does not hang on the last bits of floating point.
        """
        if "version" in self.metadata:
            return str(self.metadata["version"])
        digest = hashlib.sha256(self.weights.tobytes() + self.bias.tobytes())
        return digest.hexdigest()[:12]

    def probabilities(
        self, vectors: Sequence[Sequence[float]] | Floats, texts: Sequence[str]
    ) -> list[dict[str, float]]:
        """One ``{label: probability}`` per text, given the texts and their embeddings."""
        matrix = features(vectors, texts)
        if matrix.shape[1] != self.weights.shape[1]:
            msg = f"expected {self.weights.shape[1]} features, got shape {matrix.shape}"
            raise ValueError(msg)
        logits = matrix @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs = exp / exp.sum(axis=1, keepdims=True)
        return [dict(zip(self.labels, map(float, row), strict=True)) for row in probs]

    def check_model(self, embed_model_id: str) -> None:
        """The same model at another precision (``+int8``) is the same model: how much
        the head's accuracy moves with it is measured (``bench.embed_backends``)."""
        if embed_model_id.removesuffix(INT8_SUFFIX) != self.embed_model_id:
            msg = (
                f"the sentiment head was trained on {self.embed_model_id!r} vectors, but the "
                f"embedder is {embed_model_id!r}: retrain it with "
                "'python -m bench.training.train_sentiment' for that model"
            )
            raise HeadMismatch(msg)

    def to_json(self) -> dict[str, Any]:
        """The head's parameters, rounded to 6 decimals (the shipped file, a refit's record)."""
        return {
            "labels": list(self.labels),
            "embed_model_id": self.embed_model_id,
            "metadata": self.metadata,
            "bias": [round(float(x), 6) for x in self.bias],
            "weights": [[round(float(x), 6) for x in row] for row in self.weights],
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> SentimentHead:
        return cls(
            labels=tuple(payload["labels"]),
            weights=np.asarray(payload["weights"], dtype=np.float64),
            bias=np.asarray(payload["bias"], dtype=np.float64),
            embed_model_id=payload["embed_model_id"],
            metadata=payload.get("metadata", {}),
        )

    def save(self, path: Path = HEAD_PATH) -> None:
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n")

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> SentimentHead:
        return cls.from_json(json.loads(path.read_text()))


class SentimentClassifier:
    """Texts in, class probabilities out: the tuned encoder, then the head on its vectors."""

    def __init__(self, embedder: Embedder, head: SentimentHead) -> None:
        head.check_model(embedder.model_id)
        self._embedder, self._head = embedder, head
        digest = hashlib.sha256(f"{embedder.model_id}+{head.version}".encode())
        self.version = digest.hexdigest()[:12]

    @property
    def head(self) -> SentimentHead:
        return self._head

    def with_head(self, head: SentimentHead) -> SentimentClassifier:
        """The same tuned encoder under another head (a refit: no model load)."""
        return SentimentClassifier(self._embedder, head)

    def features(self, texts: Sequence[str]) -> Floats:
        """The head's input per text: what a label correction is learned from (``refit``)."""
        return features(self._embedder.embed(texts), texts)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One ``{label: probability}`` per text."""
        return self._head.probabilities(self._embedder.embed(texts), texts)
