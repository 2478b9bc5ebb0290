"""Candidate key phrases: short word runs that do not start or end on a function word.

Ranking is the embedding analyzer's job (similarity to the whole text); this only
proposes candidates, cheaply and deterministically, in order of first appearance.
Masked PII placeholders (``[email]``, ``[card ****1234]``) break runs and never
become phrases.
"""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "get",
        "got",
        "still",
        "even",
        "really",
        "much",
        "many",
        "one",
        "im",
        "ive",
        "dont",
        "cant",
        "wont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "dear",
        "regards",
        "ok",
        "okay",
        "lol",
        "guys",
    ]
)

_PLACEHOLDER = re.compile(r"\[[^\]]*\]")
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\"\n]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'/&-]*")


def candidates(text: str, *, max_words: int = 3, limit: int = 12) -> list[str]:
    """Up to ``limit`` distinct lower-case phrases of 1..``max_words`` words from ``text``.

    Longer phrases come first within a clause (they carry more meaning), and every
    clause contributes before any clause contributes twice, so a long text is not
    summarised by its first sentence alone.
    """
    per_clause: list[list[str]] = []
    for clause in _CLAUSE_BREAK.split(_PLACEHOLDER.sub(".", text)):
        words = [w.lower().strip("'") for w in _WORD.findall(clause)]
        found = []
        for size in range(max_words, 0, -1):
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                if run[0] in STOPWORDS or run[-1] in STOPWORDS or len(run[-1]) < 3:
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
