"""Words, terms, stop words and sentences of free text: every tokenizer the pipelines use.

Each regex below reads a different thing, and merging any two would change what a
pipeline publishes (ranked passages, key phrases, which names count as invented), so
they stay apart, side by side, each saying why it is not the other.
"""

from __future__ import annotations

import re

# Words that say nothing in a question. Deliberately short: BM25's idf already
# discounts common words, and "not", "after", "only" change what is asked ("a refund
# after 30 days"), so retrieval keeps them.
RETRIEVAL_STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for",
     "from", "how", "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or",
     "that", "the", "this", "to", "was", "what", "when", "where", "which", "who", "why",
     "will", "with", "you", "your"]
)  # fmt: skip
# What a key phrase may not start or end on: every function word, and the fillers and
# greetings of customer feedback ("thanks", "lol"), which are never its topic.
KEY_PHRASE_STOPWORDS = RETRIEVAL_STOPWORDS | frozenset(
    ["about", "above", "after", "again", "against", "all", "am", "any", "because",
     "been", "before", "being", "below", "between", "both", "but", "could", "did",
     "doing", "don't", "down", "during", "each", "few", "further", "had", "has", "have",
     "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "i'm",
     "i've", "into", "it's", "itself", "just", "let", "more", "most", "myself", "no",
     "nor", "not", "now", "off", "once", "only", "other", "our", "ours", "ourselves",
     "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
     "their", "theirs", "them", "themselves", "then", "there", "these", "they", "those",
     "through", "too", "under", "until", "up", "very", "we", "were", "while", "whom",
     "would", "yours", "yourself", "yourselves",
     "also", "get", "got", "still", "even", "really", "much", "many", "one", "im", "ive",
     "dont", "cant", "wont", "didnt", "doesnt", "isnt", "wasnt", "please", "thanks",
     "thank", "hi", "hello", "dear", "regards", "ok", "okay", "lol", "guys"]
)  # fmt: skip

# A word as written, in any script: a letter, then letters, digits, ' or -. Names are
# read with it, and names are not ASCII ("Montréal").
_WORD = re.compile(r"[^\W\d_][\w'-]*")
# A word of a key phrase: ASCII, and "/" and "&" stay inside ("and/or", "AT&T"), so a
# phrase keeps the compound its writer meant.
_PHRASE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'/&-]*")
# An index term: a run of letters and digits of lowercased text, cut at every other
# character, so "e-mail" and "e mail", "order's" and "order" share terms in BM25.
_TERM = re.compile(r"[a-z0-9]+")
# A word of an echo check: as a term, but "don't" stays one word, so six words of a
# shingle are six words a reader sees.
_SHINGLE_WORD = re.compile(r"[a-z0-9']+")

# A sentence ends at . ! or ? before a space, or at a line break (a heading, a list
# item). Not at ";" or ":": a quote must be a whole sentence, and "Note: Paris" must not
# make "Paris" the first word of a sentence, which the name check passes over.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A clause ends at . ! ? ; or : before more text: the finest pieces that still read on
# their own, for cutting a paragraph too long for one chunk.
_CLAUSE_END = re.compile(r"(?<=[.!?;:])\s+(?=\S)")


def words(text: str) -> list[str]:
    """The words of ``text`` as written, in order (any script)."""
    return _WORD.findall(text)


def phrase_words(text: str) -> list[str]:
    """The words of ``text`` a key phrase is made of, lowercased, quotes stripped."""
    return [word.lower().strip("'") for word in _PHRASE_WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Lowercased words without stop words, with a plural ``s`` folded."""
    out = []
    for word in _TERM.findall(text.lower()):
        if word in RETRIEVAL_STOPWORDS:
            continue
        out.append(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return out


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive words of ``text``, lowercased."""
    found = _SHINGLE_WORD.findall(text.lower())
    return {tuple(found[i : i + n]) for i in range(len(found) - n + 1)}


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (a line break ends one too), stripped, none empty."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def clauses(text: str) -> list[str]:
    """``text`` cut after every . ! ? ; or : that more text follows.

    Other line breaks stay inside a clause: a list keeps its items on their lines.
    """
    return _CLAUSE_END.split(text)
