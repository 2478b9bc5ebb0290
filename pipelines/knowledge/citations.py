"""Which retrieved passages an answer cites (pure): those its content comes from.

Left to the 135M model, a citation is a guess. On 80 recorded answers to Debian and R FAQ
questions, the passages ranked by how closely they resemble the answer alone named the
right entry first 41 times (a two-word answer such as "Debian" resembles many), the
model's own first source 47 times and the best-ranked passage 48 times. Evidence here
is both signals: how closely a passage resembles the answer (its content came from
there) plus how closely it resembles the question (it is about what was asked); ranked
so, 47 to 49 depending on ``SUPPORT_FLOOR`` (``bench/citations`` has today's figures).
So an answer copied from the second passage cites the second passage first, while a
loose paraphrase keeps retrieval's order. A passage the answer does not resemble at
all is never cited, and an answer no shown passage supports ("Yes.", "3", "The answer
is:") cites none: the caller does not let it pass as ``ok``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

SUPPORT_FLOOR = 0.35
"""Least cosine between an answer and a passage it is said to come from. On the same
80 answers, every answer whose best passage fell below it was a fragment or a bare word
("Yes.", "no", "2.1.0", "S"), while the median answer reached 0.61."""


def cite(
    answer: NDArray[np.float32],
    passages: NDArray[np.float32],
    relevance: Sequence[float],
    *,
    most: int,
) -> tuple[int, ...]:
    """Indexes of ``passages`` (unit vectors) an ``answer`` (unit vector) cites, strongest
    evidence first, at most ``most``; ``relevance`` is each passage's cosine to the
    question. Empty when no passage supports the answer."""
    support = passages @ answer
    evidence = support + np.asarray(relevance, dtype=np.float32)
    ranked = np.argsort(-evidence, kind="stable")
    return tuple(int(i) for i in ranked if support[i] >= SUPPORT_FLOOR)[:most]
