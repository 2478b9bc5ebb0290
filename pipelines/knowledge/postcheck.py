"""The last check before an answer is published (pure).

The model's output is accepted only if it is the object the schema asks for,
every source is the number of a passage it was shown, and the answer does not
echo the instructions or the prompt's block markers (a sign that a document
talked the model into revealing them). Anything else is ``rejected`` with the
reason, never published as an answer.

A small model also copies the shape of an answer and invents its figures ("123
days" where the policy says 30): a figure that its cited passages do not state is
caught by ``pipelines.common.text.grounding``, and ``quote_for`` finds the sentence of a
passage that answers the question instead, if one plainly does. An identifier (a
phone number, a date) counts there as one term, so the "123" of "0800 123 456" does
not make a contact line the answer about order 123.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from models import JsonObject
from pipelines.common.text.grounding import IDENTIFIERS, figures
from pipelines.common.text.words import sentences, shingles, terms
from pipelines.knowledge.prompt import CLOSE, OPEN

ECHO_WORDS = 6
MIN_SHARED_TERMS = 2


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None
    sources: tuple[int, ...] = ()  # 1-based passage numbers, deduplicated, in cited order


def echoes(answer: str, hidden: str, n: int = ECHO_WORDS) -> bool:
    """Whether ``answer`` repeats ``n`` consecutive words of ``hidden``."""
    return bool(shingles(answer, n) & shingles(hidden, n))


def parse_lenient(raw: str) -> JsonObject | None:
    """The object in ``raw`` when its only fault is a raw control character inside a string.

    llama.cpp's JSON grammar admits newlines inside strings, which strict JSON
    forbids; the shape is then still checked by ``check_answer``.
    """
    try:
        value = json.loads(raw, strict=False)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def check_answer(output: JsonObject, passage_count: int, system_prompt: str) -> Verdict:
    """Accept ``output`` or say why not."""
    answer, sources = output.get("answer"), output.get("sources")
    if not isinstance(answer, str) or not answer.strip():
        return Verdict(False, f"answer must be a non-empty string, got {answer!r:.60}")
    if not isinstance(sources, list) or not sources:
        return Verdict(False, f"sources must be a non-empty list, got {sources!r:.60}")
    bad = [s for s in sources if not isinstance(s, int) or not 1 <= s <= passage_count]
    if bad:
        return Verdict(False, f"sources {bad!r} are not passages 1..{passage_count}")
    if OPEN in answer or CLOSE in answer:
        return Verdict(False, "answer contains prompt block markers")
    if echoes(answer, system_prompt):
        return Verdict(False, "answer echoes the instructions")
    return Verdict(True, None, tuple(dict.fromkeys(sources)))


def quote_for(question: str, passages: Sequence[str]) -> tuple[int, str] | None:
    """The sentence of ``passages`` sharing the most terms with ``question``, and its passage.

    ``None`` unless it shares at least ``MIN_SHARED_TERMS``: a quote must plainly be
    about the question. On a tie the earlier passage (better ranked) wins.
    """
    asked = _quote_terms(question)
    best: tuple[int, int, str] | None = None  # shared terms, passage index, sentence
    for index, text in enumerate(passages):
        for sentence in sentences(text):
            if sentence.startswith("#"):
                continue
            shared = len(asked & _quote_terms(sentence))
            if shared >= MIN_SHARED_TERMS and (best is None or shared > best[0]):
                best = (shared, index, sentence)
    return (best[1], best[2]) if best is not None else None


def _quote_terms(text: str) -> set[str]:
    """``terms`` of ``text``, each identifier (phone, date, version...) one term, not its digits."""
    ids = [f for f in figures(text) if f.kind in IDENTIFIERS]
    for figure in ids:
        text = text.replace(figure.text, " ")
    return set(terms(text)) | {f"#{figure.key}" for figure in ids}
