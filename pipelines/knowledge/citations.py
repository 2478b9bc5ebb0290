"""Which retrieved passages an answer cites: the ones its content comes from (pure).

A 135M model's own ``sources`` are close to noise: it lists ``[1, 2, 3]`` whatever it
read, and on the Debian FAQ benchmark its first source was the right entry in 11 of 20
answers while retrieval held that entry in its top 5 for 86 questions in 100. What the
answer says is better evidence of where it came from. A passage supports an answer by
the share of the answer's terms it holds; terms the question already had count only to
break ties, since every passage retrieved for the question tends to hold them, and the
answer's own words ("30", "warehouse") are what tell passages apart. The best
supporter is cited first; another is cited only if it holds at least ``MIN_TERMS`` of
the answer's terms the first lacks. The model's own sources break remaining ties, then
retrieval rank.

An answer no passage supports (under ``MIN_SHARE`` of its terms in any one, or fewer
than ``MIN_TERMS`` terms to judge by: "Yes.") cites nothing: the caller does not
publish it as it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pipelines.common.text.words import terms

MIN_SHARE = 0.5
MIN_TERMS = 2


def supporting_passages(
    answer: str,
    question: str,
    passages: Sequence[str],
    *,
    limit: int,
    hinted: Collection[int] = (),
) -> list[int]:
    """Indexes into ``passages`` of those that support ``answer``, best first (at most
    ``limit``); ``hinted``: indexes the model named, a tie-breaker."""
    said = set(terms(answer))
    if len(said) < MIN_TERMS or not passages:
        return []
    asked = set(terms(question))
    held = [said & set(terms(text)) for text in passages]

    def evidence(i: int) -> tuple[int, int, bool, int]:
        return (-len(held[i] - asked), -len(held[i]), i not in hinted, i)

    order = sorted(range(len(passages)), key=evidence)
    if len(held[order[0]]) / len(said) < MIN_SHARE:
        return []
    chosen, covered = [order[0]], set(held[order[0]])
    for i in order[1:]:
        if len(chosen) >= limit:
            break
        if len(held[i] - covered) >= MIN_TERMS:
            chosen.append(i)
            covered |= held[i]
    return chosen
