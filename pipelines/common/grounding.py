"""Whether generated text states only what its sources state (pure).

Small local models copy the shape of their worked example and invent its details: a
refund answer of "123 days" where the policy says 30, an analyst note naming London and
Paris for a Montréal-Kaduna alert. Figures and names are what such copies get wrong and
what a reader acts on, so they are checked against the sources the model was given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W\d_][\w'-]*")


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (a line break ends one too), stripped, none empty."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def unsupported_numbers(text: str, sources: Sequence[str]) -> list[str]:
    """The numbers ``text`` states that no source contains (by value: ``30`` = ``30.0``)."""
    known = {_value(number) for source in sources for number in _NUMBER.findall(source)}
    return [n for n in dict.fromkeys(_NUMBER.findall(text)) if _value(n) not in known]


def unsupported_names(text: str, sources: Sequence[str]) -> list[str]:
    """Capitalised words inside a sentence of ``text`` (places, people) that no source has.

    A sentence's first word is capitalised anyway and is not taken for a name.
    """
    names = [
        word
        for sentence in sentences(text)
        for word in _WORD.findall(sentence)[1:]
        if word[0].isupper()
    ]
    return [name for name in dict.fromkeys(names) if not any(name in s for s in sources)]


def _value(number: str) -> float:
    """``"30,960"`` and ``"30960.0"`` alike: a comma is a thousands separator here."""
    return float(number.replace(",", ""))
