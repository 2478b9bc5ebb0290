"""The refit of the sentiment head on label corrections: pure numpy, a small synthetic head."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.feedback.analyzers.refit import (
    Correction,
    RefitSettings,
    fit,
    held_back,
    refit,
)
from pipelines.feedback.analyzers.sentiment_head import SentimentHead

LABELS = ("negative", "neutral", "positive")
SETTINGS = RefitSettings(penalty=0.01, holdout_percent=20, steps=300)


def _head() -> SentimentHead:
    """Reads feature 0 only: negative below zero, positive above, blind to feature 1."""
    weights = np.zeros((3, 4))
    weights[0, 0], weights[2, 0] = -4.0, 4.0
    return SentimentHead(LABELS, weights, np.asarray([0.0, 0.5, 0.0]), "test-model")


def _corrections(prefix: str, n: int, rule: str, *, seed: int = 7) -> list[Correction]:
    """``n`` items labelled by the sign of feature 1 (``rule="new"``), or of feature 0."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        x = rng.normal(size=4)
        sign = x[1] if rule == "new" else x[0]
        items.append(Correction(f"{prefix}-{i}", tuple(x), "positive" if sign > 0 else "negative"))
    return items


def test_no_labels_leave_the_shipped_head_as_it_is() -> None:
    head = _head()
    weights, bias = fit(head, np.zeros((0, 4)), [], penalty=0.1, steps=10)
    assert np.array_equal(weights, head.weights)
    assert np.array_equal(bias, head.bias)


def test_labels_that_read_another_feature_are_learned_and_shipped_under_a_new_version() -> None:
    head = _head()
    result = refit(head, head, _corrections("fb", 200, "new"), SETTINGS)
    assert result.shipped
    assert result.candidate_accuracy > result.current_accuracy
    assert result.head.version != head.version
    fresh = _corrections("fresh", 300, "new", seed=99)
    x = np.asarray([c.features for c in fresh])
    predicted = np.argmax(x @ result.head.weights.T + result.head.bias, axis=1)
    assert np.mean([LABELS[p] == c.sentiment for p, c in zip(predicted, fresh, strict=True)]) > 0.9


def test_the_same_labels_in_another_order_give_the_same_head() -> None:
    head = _head()
    corrections = _corrections("fb", 120, "new")
    first = refit(head, head, corrections, SETTINGS)
    again = refit(head, head, list(reversed(corrections)), SETTINGS)
    assert np.allclose(first.head.weights, again.head.weights)


def test_a_refit_that_validates_worse_than_the_current_head_is_not_shipped() -> None:
    """Training labels contradict the head, the held-back ones agree with it."""
    head = _head()
    candidates = _corrections("fb", 300, "old")
    corrections = [
        c if held_back(c.feedback_id, SETTINGS.holdout_percent)
        else Correction(c.feedback_id, c.features,
                        "negative" if c.sentiment == "positive" else "positive")
        for c in candidates
    ]  # fmt: skip
    result = refit(head, head, corrections, SETTINGS)
    assert result.held_back > 0
    assert not result.shipped
    assert result.candidate_accuracy < result.current_accuracy
    assert result.head is head


def test_a_label_the_head_does_not_know_is_refused() -> None:
    head = _head()
    with pytest.raises(ValueError, match="'furious'"):
        refit(head, head, [Correction("fb-1", (0.0, 0.0, 0.0, 0.0), "furious")])


def test_a_refit_with_no_label_held_back_is_not_shipped() -> None:
    head = _head()
    training_only = [c for c in _corrections("fb", 40, "new") if not held_back(c.feedback_id, 20)]
    result = refit(head, head, training_only, SETTINGS)
    assert result.held_back == 0
    assert not result.shipped
    assert result.head is head
