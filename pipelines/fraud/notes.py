"""Analyst notes for fraud alerts (pure): the prompt, its worked examples, the facts.

The model is shown an alert's facts (no card number, no customer data) and one worked
example of the same kind of case. Its note is kept only if every figure and name in it
is in those facts (``grounded_note``); otherwise the note is built from the facts
themselves (``facts_note``), which states nothing the alert does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from pipelines.common.events import FraudAlert, NoteSource
from pipelines.common.text.grounding import unsupported_names, unsupported_numbers
from pipelines.common.text.pii import mask_pans
from pipelines.fraud.profile import travel_announced

NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"note": {"type": "string", "minLength": 10, "maxLength": 400}},
    "required": ["note"],
}
SYSTEM_PROMPT = (
    "You write short notes for card-fraud analysts. Given an alert's facts, say in one "
    "sentence what happened and in one sentence what the analyst should check first. "
    "Use only the facts given. Example: {example}"
)
# One worked example per kind of case (a rule; an announced trip): small local models
# follow an example of the same kind of case far better than an instruction alone
# (measured on SmolLM2-135M). Each is what happened, then what to check first; the
# second half is also the advice of a note written from the facts when the model's
# note states what the facts do not.
NOTE_EXAMPLES: dict[str, tuple[str, str]] = {
    "impossible_travel": (
        "The card was used in person in London and then in Paris 40 seconds later, far "
        "faster than any flight.",
        "Check whether the card was cloned and call the customer.",
    ),
    "velocity": (
        "The card made 8 purchases within one minute, more than the limit allows.",
        "Check whether the purchases are genuine and consider blocking the card.",
    ),
}
DEFAULT_EXAMPLE = (
    "The card triggered a fraud rule.",
    "Check the listed transactions with the customer.",
)
# A travel notice explains the trip and lowered the alert: advice to hunt for a cloned
# card would contradict the note's own reasons.
ANNOUNCED_TRAVEL_EXAMPLE = (
    "The card was used in person in London and then in Paris 40 seconds later, far "
    "faster than any flight, but a travel notice of the customer covers France.",
    "The customer announced this trip: confirm it with them before acting.",
)


def note_example(alert: FraudAlert) -> tuple[str, str]:
    """The worked example for ``alert``'s kind of case: what happened, what to check first."""
    if travel_announced(alert):
        return ANNOUNCED_TRAVEL_EXAMPLE
    return NOTE_EXAMPLES.get(alert.rule, DEFAULT_EXAMPLE)


def system_prompt(alert: FraudAlert) -> str:
    example = " ".join(note_example(alert))
    return SYSTEM_PROMPT.format(example=orjson.dumps({"note": example}).decode())


def facts_note(alert: FraudAlert, earlier: str | None = None) -> str:
    """A note from the alert's own reasons, what similar earlier cases were judged
    (``earlier``, see ``earlier_verdicts``) and the case's advice: nothing to get wrong."""
    _, advice = note_example(alert)
    reasons = "; ".join(mask_pans(reason) for reason in alert.reasons)
    history = f" {earlier[:1].upper()}{earlier[1:]}." if earlier else ""
    return f"{reasons[:1].upper()}{reasons[1:]}.{history} {advice}"


def grounded_note(
    note: str, alert: FraudAlert, facts: str, earlier: str | None = None
) -> tuple[str, NoteSource]:
    """``note`` if every figure and name in it is in ``facts``, else ``facts_note``.

    SmolLM2 often copies its example ("London ... Paris 40 seconds later") for a case
    that happened elsewhere: an analyst must not read invented places or counts.
    """
    if unsupported_numbers(note, [facts]) or unsupported_names(note, [facts]):
        return facts_note(alert, earlier), "facts"
    return note, "model"


def earlier_verdicts(similar: int, verdicts: Sequence[str]) -> str | None:
    """``3 similar earlier, 2 confirmed fraud``: what analysts made of the similar earlier
    cases (``verdicts``: those judged); None when none was judged, as "0 confirmed"
    would then read as cleared."""
    if not verdicts:
        return None
    confirmed = sum(verdict == "fraud" for verdict in verdicts)
    return f"{similar} similar earlier, {confirmed} confirmed fraud"


def case_text(alert: FraudAlert) -> str:
    """What a case is about, for embedding and for the prompt: rule, severity, reasons."""
    places = ""
    if alert.from_ is not None and alert.to is not None:
        places = f" from {alert.from_.country} to {alert.to.country}"
    return mask_pans(f"{alert.rule}{places}, severity {alert.severity}: " + " ".join(alert.reasons))


def alert_facts(alert: FraudAlert, earlier: str | None = None) -> str:
    """The facts the model may use, as JSON: no card number, no customer data; with the
    verdicts of similar earlier cases (``earlier``) when some were judged."""
    facts: dict[str, Any] = {
        "rule": alert.rule,
        "severity": alert.severity,
        "transactions": len(alert.txn_ids),
        "reasons": [mask_pans(r) for r in alert.reasons],
    }
    if alert.distance_km is not None:
        facts["distance_km"] = alert.distance_km
        facts["speed_kmh"] = alert.speed_kmh
    if earlier:
        facts["similar_cases"] = earlier
    return orjson.dumps(facts).decode()
