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
MIN_QUOTE_WORDS = 4
_SENTENCE_ENDINGS = (".", "!", "?", '."', ".)", "?)")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None


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
    return Verdict(True, None)


def quote_for(question: str, passages: Sequence[str]) -> tuple[int, str] | None:
    """The sentence that answers ``question`` from the best-ranked passage that has one.

    A sentence answers when it shares at least ``MIN_SHARED_TERMS`` terms with the
    question, a quote must plainly be about it, and reads on its own
    (``reads_as_answer``). Passages are tried in rank order, since retrieval ranked them
    and a quote is cited first; within one, the sentence sharing most terms wins (the
    earlier on a tie). ``None`` when no passage has one.
    """
    asked = _quote_terms(question)
    for index, text in enumerate(passages):
        answering = [
            (len(asked & _quote_terms(sentence)), sentence)
            for sentence in sentences(text)
            if reads_as_answer(sentence)
        ]
        shared, sentence = max(answering, key=lambda pair: pair[0], default=(0, ""))
        if shared >= MIN_SHARED_TERMS:
            return index, sentence  # max keeps the earliest of equals
    return None


def reads_as_answer(sentence: str) -> bool:
    """Whether ``sentence`` reads as an answer on its own: no heading (a chunk's title
    line, a ``#`` line), no fragment (it starts like a sentence and ends like one)."""
    return (
        not sentence.startswith(("#", "*", "-"))
        and (sentence[0].isupper() or sentence[0].isdigit())
        and sentence.endswith(_SENTENCE_ENDINGS)
        and len(sentence.split()) >= MIN_QUOTE_WORDS
    )


def _quote_terms(text: str) -> set[str]:
    """``terms`` of ``text``, each identifier (phone, date, version...) one term, not its digits."""
    ids = [f for f in figures(text) if f.kind in IDENTIFIERS]
    for figure in ids:
        text = text.replace(figure.text, " ")
    return set(terms(text)) | {f"#{figure.key}" for figure in ids}
