"""Whether generated text states only what its sources state (pure).

Small local models copy the shape of their worked example and invent its details: a
refund answer of "123 days" where the policy says 30, an analyst note naming London and
Paris for a Montréal-Kaduna alert. Figures and names are what such copies get wrong and
what a reader acts on, so they are checked against the sources the model was given.

A figure is read with its type, because a bare digit match proves nothing: the "123" of
the phone number "0800 123 456" does not support "123 days", and "01.01.2027" is a date,
not a number (reading it as one used to raise and dead-letter every question retrieving
it). Identifiers (dates, versions, IP addresses, times, phone numbers, codes such as
``E42``) are supported only by the same identifier; a quantity ("30 days", "2.5 %",
"EUR 25") only by the same value in a compatible unit; a bare number by the same value,
bare or with a unit, but never by a fragment of an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pipelines.common.text.words import sentences, words

Kind = Literal["date", "ip", "version", "time", "phone", "code", "quantity", "number"]
IDENTIFIERS: frozenset[Kind] = frozenset(["date", "ip", "version", "time", "phone", "code"])

# Tried in this order at each position: the first that fits names the figure.
_FIGURE = re.compile(
    r"""
    (?P<code>(?<![\w.+-])[a-z][a-z0-9+.-]*://\S*[\w/]   # a link
        | (?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+     # an e-mail address
        | \b[^\W\d_][\w-]*\d[\w-]*(?:\.\d+)*)           # E42, i386, COVID-19, v2.0
    | (?<!\w)(?:
        (?P<date>\d{4}-\d\d?-\d\d?|\d\d?(?P<sep>[./-])\d\d?(?P=sep)(?:\d{4}|\d\d))
      | (?P<ip>\d{1,3}(?:\.\d{1,3}){3})
      | (?P<version>\d+(?:\.\d+){2,}|\d+(?:-\d+){2,}|\d+(?:/\d+)+)
      | (?P<time>\d\d?:\d\d(?::\d\d)?)
      | (?P<phone>(?:\+\d{1,3}|\(0\d{1,5}\)|0\d{1,5})(?:[ -]\d{2,5}){1,5})
    )(?!\w|[.,:/]\d)
    | (?:(?P<prefix>[$€£]|\b(?:EUR|USD|GBP|CHF)\b)\s?)?(?<![\w.,])
      (?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+(?!\d)
        |\d+(?:\.\d+)?)
      (?:[ \u00a0-]?(?P<unit>[%€$£]|per\ ?cent\b
        |(?:(?:working|business|calendar|banking)\s+)?[^\W\d_]+(?:/[^\W\d_]+)?))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_RANGE = re.compile(r"\s*(?:-|\u2013|\u2014|to|and|or)\s*", re.IGNORECASE)
# Words that can follow a number without being its unit ("30 or more", "3 of them"):
# a table of the figure grammar, not a stop-word list ("per", "less" and "within" are
# in neither list of ``words``).
_NOT_UNITS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "less",
     "more", "of", "on", "or", "per", "than", "that", "the", "then", "this", "to", "was", "we",
     "were", "when", "which", "with", "within", "you"]
)  # fmt: skip
_UNIT_NAMES = {
    "%": "percent", "pct": "percent", "€": "eur", "euro": "eur", "$": "usd",
    "dollar": "usd", "£": "gbp", "pound": "gbp", "d": "day", "h": "hour", "hr": "hour",
    "hrs": "hour", "min": "minute", "s": "second", "sec": "second", "wk": "week",
    "yr": "year", "yrs": "year", "kmh": "km/h",
}  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """One figure as written (``text``), what it is, and what it must match in a source.

    ``key`` is an identifier's digit groups (``01.01.2027`` = ``1.1.2027``) or a code's
    lowercased text, or a number's value (``30`` = ``30.0``, ``30,960`` = ``30 960``);
    ``unit`` is a quantity's unit, normalised (``days`` = ``d``, ``%`` = ``percent``).
    """

    text: str
    kind: Kind
    key: str
    unit: str | None = None


def figures(text: str) -> list[Figure]:
    """The figures ``text`` states, in order; any text is read, none raises.

    A bare number joined to a quantity by a range word takes its unit: in "3 to 5
    working days" both are days.
    """
    found: list[Figure] = []
    bare_end = -1  # where the previous figure ended if it was a bare number
    for match in _FIGURE.finditer(text):
        figure = _figure(match)
        if figure is None:
            continue
        ranged = bare_end >= 0 and _RANGE.fullmatch(text, bare_end, match.start("number"))
        if figure.kind == "quantity" and ranged:
            found[-1] = replace(found[-1], kind="quantity", unit=figure.unit)
        found.append(figure)
        bare_end = match.end("number") if figure.kind == "number" else -1
    return found


def unsupported_numbers(text: str, sources: Sequence[str]) -> list[str]:
    """The figures ``text`` states that no source supports, as written, each once."""
    evidence = {claim for source in sources for f in figures(source) for claim in _evidence(f)}
    return list(dict.fromkeys(f.text for f in figures(text) if _claim(f) not in evidence))


def unsupported_names(text: str, sources: Sequence[str]) -> list[str]:
    """Capitalised words inside a sentence of ``text`` (places, people) that no source has.

    A sentence's first word is capitalised anyway and is not taken for a name.
    """
    names = [
        word for sentence in sentences(text) for word in words(sentence)[1:] if word[0].isupper()
    ]
    return [name for name in dict.fromkeys(names) if not any(name in s for s in sources)]


def _figure(match: re.Match[str]) -> Figure | None:
    """The figure ``match`` read, or ``None`` for a link or address without digits."""
    text = match[0].strip()
    for kind in ("code", "date", "ip", "version", "time", "phone"):
        if match[kind]:
            if kind == "code":
                return Figure(text, "code", text.lower()) if re.search(r"\d", text) else None
            groups = [g.lstrip("0") or "0" for g in re.findall(r"\d+", text)]
            return Figure(text, kind, ".".join(groups))
    number = match["number"]
    if match["prefix"]:  # "EUR 25": what follows the number is not its unit
        return Figure(text[: text.index(number) + len(number)], "quantity", _value(number),
                      _unit(match["prefix"]))  # fmt: skip
    unit = _unit(match["unit"] or "")
    return Figure(text if unit else number, "quantity" if unit else "number", _value(number), unit)


def _unit(word: str) -> str | None:
    """``"working days"`` -> ``"day"``, ``"%"`` -> ``"percent"``; a function word is none."""
    word = re.sub(r"per ?cent", "percent", word.lower()).split()[-1] if word.strip() else ""
    if not word or word in _NOT_UNITS:
        return None
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return _UNIT_NAMES.get(word, word)


def _value(number: str) -> str:
    """A number's value as text: ``"30,960"`` = ``"30 960"`` = ``"30960.0"``, never raising.

    Compared as text, not ``float``: long account-like digit runs stay distinct.
    """
    whole, _, fraction = re.sub(r"[,\s]", "", number).partition(".")
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _claim(figure: Figure) -> tuple[str, ...]:
    """What a source must hold to support ``figure``."""
    if figure.kind in IDENTIFIERS:
        return ("identifier", figure.key)
    if figure.kind == "quantity":
        return ("quantity", figure.key, str(figure.unit))
    return ("number", figure.key)


def _evidence(figure: Figure) -> set[tuple[str, ...]]:
    """What ``figure`` in a source supports: a quantity also supports its bare value."""
    if figure.kind == "quantity":
        return {_claim(figure), ("number", figure.key)}
    return {_claim(figure)}
