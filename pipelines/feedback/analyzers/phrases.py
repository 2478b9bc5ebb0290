"""Candidate key phrases: short word runs that do not start or end on a function word.

Ranking is the embedding analyzer's job (similarity to the whole text); this only
proposes candidates, cheaply and deterministically, in order of first appearance.
Masked PII placeholders (``[email]``, ``[card ****1234]``) break runs and never
become phrases.
"""

from __future__ import annotations

import re

from pipelines.common.text.words import KEY_PHRASE_STOPWORDS, phrase_words

# What a phrase never spans: a masked placeholder, punctuation, a line break.
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\"\n]+")


def candidates(text: str, *, max_words: int = 3, limit: int = 12) -> list[str]:
    """Up to ``limit`` distinct lower-case phrases of 1..``max_words`` words from ``text``.

    Longer phrases come first within a clause (they carry more meaning), and every
    clause contributes before any clause contributes twice, so a long text is not
    summarised by its first sentence alone.
    """
    per_clause: list[list[str]] = []
    for clause in _CLAUSE_BREAK.split(_PLACEHOLDER.sub(".", text)):
        words = phrase_words(clause)
        found = []
        for size in range(max_words, 0, -1):
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                if {run[0], run[-1]} & KEY_PHRASE_STOPWORDS or len(run[-1]) < 3:
                    continue
                found.append(" ".join(run))
        per_clause.append(found)
    ordered: list[str] = []
    seen: set[str] = set()
    for rank in range(max((len(f) for f in per_clause), default=0)):
        for found in per_clause:
            if rank < len(found) and found[rank] not in seen:
                seen.add(found[rank])
                ordered.append(found[rank])
    return ordered[:limit]
