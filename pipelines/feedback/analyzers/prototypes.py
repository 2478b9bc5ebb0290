"""Categories by nearest prototype, and prototypes learned from one deployment's labels (pure).

The taxonomy gives each category a few describing phrases; their embeddings are the
category's prototypes, and a text gets the category of its most similar prototype (or
``other`` below ``min_similarity``). Labels add, per category labelled, one learned
prototype: the mean of its labelled items' vectors, normalised. The taxonomy's phrases
stay, so a category nobody labelled keeps working as before, and a labelled one is also
found where this deployment's customers word it their own way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.feedback.analyzers.sentiment_head import Floats
from pipelines.feedback.settings import FALLBACK_CATEGORY

Prototypes = Mapping[str, Sequence[float]]
"""Learned prototypes: one unit vector per labelled category."""


@dataclass(frozen=True)
class CategorySpace:
    """The taxonomy's prototypes: one row of ``described`` per phrase, owned by a category."""

    described: Floats
    owners: tuple[str, ...]
    min_similarity: float

    def with_learned(self, learned: Prototypes) -> CategorySpace:
        """These prototypes plus the learned ones (the taxonomy's rows first)."""
        if not learned:
            return self
        names = sorted(learned)
        rows = np.asarray([learned[name] for name in names], dtype=np.float64)
        return CategorySpace(np.vstack([self.described, rows]), (*self.owners, *names),
                             self.min_similarity)  # fmt: skip

    def category(self, vector: Sequence[float] | npt.NDArray[np.floating[Any]]) -> str:
        similarities = self.described @ np.asarray(vector, dtype=np.float64)
        best = int(np.argmax(similarities))
        if float(similarities[best]) < self.min_similarity:
            return FALLBACK_CATEGORY
        return self.owners[best]

    def accuracy(self, vectors: Sequence[Sequence[float]], labels: Sequence[str]) -> float:
        """Share of ``labels`` these prototypes give their vectors (1.0 on nothing to check)."""
        if not labels:
            return 1.0
        right = sum(self.category(v) == label for v, label in zip(vectors, labels, strict=True))
        return right / len(labels)


def learn_prototypes(
    vectors: Sequence[Sequence[float]], labels: Sequence[str]
) -> dict[str, list[float]]:
    """Per category labelled, the normalised mean of its items' vectors (sorted by name)."""
    by_category: dict[str, list[Sequence[float]]] = {}
    for vector, label in zip(vectors, labels, strict=True):
        by_category.setdefault(label, []).append(vector)
    learned = {}
    for name in sorted(by_category):
        mean = np.mean(np.asarray(by_category[name], dtype=np.float64), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            learned[name] = [round(float(x), 6) for x in mean / norm]
    return learned
