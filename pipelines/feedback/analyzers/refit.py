"""Refit the sentiment head on one deployment's label corrections (pure: numpy only).

A label on ``feedback-labels`` says what an item seen earlier should have been; the
pipeline has that item's head features already (tuned embedding + lexicon scores), so
learning from it is a small multinomial logistic regression, no encoder pass.

* Start from the shipped head and stay near it: the loss is the labels' cross-entropy
  plus ``penalty * |W - W_shipped|^2 / 2``. Fifty labels cannot outvote twenty thousand
  training snippets, only bend the head towards this deployment's language; with no
  labels the refit is the shipped head.
* Always refit from the shipped head on every label so far (not from the last refit), so
  a version is a function of (shipped head, labels) and nothing else.
* Hold back a stable share of the labels (chosen by a hash of the feedback id, not by
  arrival order), fit on the rest, and ship only if the refit is not less accurate than
  the current head on the held-back ones (with none held back, nothing is shipped).
* The caller names the version (``learning.py``: a digest of the base version and the
  labels, not of the weights, so a replay of the same labels gets the same version on
  any machine, whatever the last bits of its floating point).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipelines.feedback.analyzers.sentiment_head import Floats, SentimentHead

DEFAULT_PENALTY = 0.01
DEFAULT_MIN_LABELS = 100
DEFAULT_HOLDOUT_PERCENT = 20
DEFAULT_STEPS = 300
LEARNING_RATE = 0.5


@dataclass(frozen=True)
class Correction:
    """One label: the item's id, its head features and the sentiment it should have had."""

    feedback_id: str
    features: tuple[float, ...]
    sentiment: str


@dataclass(frozen=True)
class RefitSettings:
    penalty: float = DEFAULT_PENALTY
    holdout_percent: int = DEFAULT_HOLDOUT_PERCENT
    steps: int = DEFAULT_STEPS


@dataclass(frozen=True)
class Refit:
    """What a refit found: the head to use from now on and why."""

    head: SentimentHead
    shipped: bool
    candidate_accuracy: float
    current_accuracy: float
    held_back: int


def held_back(feedback_id: str, percent: int) -> bool:
    """Whether this label validates refits instead of training them (stable per id)."""
    digest = hashlib.sha256(feedback_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def fit(
    base: SentimentHead, x: Floats, y: Sequence[str], *, penalty: float, steps: int
) -> tuple[Floats, Floats]:
    """Weights and bias minimising the labels' cross-entropy plus the pull to ``base``.

    Full-batch gradient descent from the base weights, a fixed number of steps: the
    same inputs give the same head, and the loss is convex, so there is no local trap.
    """
    weights, bias = base.weights.copy(), base.bias.copy()
    if not len(y):
        return weights, bias
    targets = np.zeros((len(y), len(base.labels)))
    targets[np.arange(len(y)), [base.labels.index(label) for label in y]] = 1.0
    for _ in range(steps):
        error = _softmax(x @ weights.T + bias) - targets
        weights -= LEARNING_RATE * (error.T @ x / len(y) + penalty * (weights - base.weights))
        bias -= LEARNING_RATE * (error.mean(axis=0) + penalty * (bias - base.bias))
    return weights, bias


def accuracy(weights: Floats, bias: Floats, labels: Sequence[str], x: Floats,
             y: Sequence[str]) -> float:  # fmt: skip
    """Share of ``y`` the head ``(weights, bias)`` gets right (1.0 on nothing to check)."""
    if not len(y):
        return 1.0
    predicted = np.argmax(x @ weights.T + bias, axis=1)
    return float(np.mean([labels[i] == label for i, label in zip(predicted, y, strict=True)]))


def refit(
    base: SentimentHead,
    current: SentimentHead,
    corrections: Sequence[Correction],
    settings: RefitSettings = RefitSettings(),
) -> Refit:
    """Refit ``base`` on ``corrections``; keep ``current`` unless the refit validates as well."""
    unknown = {c.sentiment for c in corrections} - set(base.labels)
    if unknown:
        msg = f"labels {sorted(unknown)!r} are not among the head's {base.labels!r}"
        raise ValueError(msg)
    holdout = [held_back(c.feedback_id, settings.holdout_percent) for c in corrections]
    train = [c for c, out in zip(corrections, holdout, strict=True) if not out]
    check = [c for c, out in zip(corrections, holdout, strict=True) if out]
    weights, bias = fit(
        base, _matrix(train, base), [c.sentiment for c in train],
        penalty=settings.penalty, steps=settings.steps,
    )  # fmt: skip
    x_check, y_check = _matrix(check, base), [c.sentiment for c in check]
    candidate_accuracy = accuracy(weights, bias, base.labels, x_check, y_check)
    current_accuracy = accuracy(current.weights, current.bias, current.labels, x_check, y_check)
    shipped = bool(check) and candidate_accuracy >= current_accuracy  # unchecked: never
    head = current
    if shipped:
        metadata = {
            **base.metadata,
            "base_version": base.version,
            "labels": len(corrections),
            "held_back": len(check),
        }
        head = replace(base, weights=weights, bias=bias, metadata=metadata)
    return Refit(head, shipped, candidate_accuracy, current_accuracy, len(check))


def _matrix(corrections: Sequence[Correction], head: SentimentHead) -> Floats:
    return np.asarray([c.features for c in corrections], dtype=np.float64).reshape(
        -1, head.weights.shape[1]
    )


def _softmax(logits: Floats) -> Floats:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: Floats = shifted / shifted.sum(axis=1, keepdims=True)
    return result
