r"""Fraud triage: an analyst note and similar past cases for every alert, off the hot path.

fraud-alerts --triage--> fraud-alerts-triaged
             \-> failing --> fraud-triage-dlq
triage: embed the case, recall similar earlier cases, ask the LLM for a note, remember the case

Its own consumer group: a slow or failing model delays the triaged copies only,
never ``fraud-alerts``. The note is written from the alert's facts alone, and a note
that states a figure or a name the facts do not is replaced by one built from them.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from models import ChatModel, Embedder
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.backends import chat_model, embedder, vector_collection
from pipelines.common.dlq import stage
from pipelines.common.epoch import to_ms
from pipelines.common.events import FraudAlert, NoteSource, TriagedAlert
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.text.grounding import unsupported_names, unsupported_numbers
from pipelines.common.text.pii import mask_pans
from pipelines.fraud.profile import travel_announced
from state.vectors import VectorCollection, VectorRecord

logger = logging.getLogger(__name__)

CASES_COLLECTION = "fraud-cases"
SIMILAR_CASES = 3

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


def facts_note(alert: FraudAlert) -> str:
    """A note from the alert's own reasons and the case's advice: nothing to get wrong."""
    _, advice = note_example(alert)
    reasons = "; ".join(mask_pans(reason) for reason in alert.reasons)
    return f"{reasons[:1].upper()}{reasons[1:]}. {advice}"


def grounded_note(note: str, alert: FraudAlert, facts: str) -> tuple[str, NoteSource]:
    """``note`` if every figure and name in it is in ``facts``, else ``facts_note``.

    SmolLM2 often copies its example ("London ... Paris 40 seconds later") for a case
    that happened elsewhere: an analyst must not read invented places or counts.
    """
    if unsupported_numbers(note, [facts]) or unsupported_names(note, [facts]):
        return facts_note(alert), "facts"
    return note, "model"


def case_text(alert: FraudAlert) -> str:
    """What a case is about, for embedding and for the prompt: rule, severity, reasons."""
    places = ""
    if alert.from_ is not None and alert.to is not None:
        places = f" from {alert.from_.country} to {alert.to.country}"
    return mask_pans(f"{alert.rule}{places}, severity {alert.severity}: " + " ".join(alert.reasons))


def alert_facts(alert: FraudAlert) -> str:
    """The facts the model may use, as JSON: no card number, no customer data."""
    facts = {
        "rule": alert.rule,
        "severity": alert.severity,
        "transactions": len(alert.txn_ids),
        "reasons": [mask_pans(r) for r in alert.reasons],
    }
    if alert.distance_km is not None:
        facts["distance_km"] = alert.distance_km
        facts["speed_kmh"] = alert.speed_kmh
    return orjson.dumps(facts).decode()


class Triage:
    """Embeds a case, finds similar earlier ones, asks for a note, remembers the case."""

    def __init__(self, model: ChatModel, cases: VectorCollection, embed: Embedder) -> None:
        self._model, self._cases, self._embed = model, cases, embed

    def __call__(self, alert: FraudAlert) -> TriagedAlert:
        text = case_text(alert)
        [vector] = self._embed.embed([text])
        ts_ms = to_ms(alert.ts)
        hits = self._cases.query(vector, k=SIMILAR_CASES + 1, where={"ts_ms": {"$lt": ts_ms}})
        similar = [hit.id for hit in hits if hit.id != alert.alert_id][:SIMILAR_CASES]
        facts = alert_facts(alert)
        answer = self._model.complete_json(
            system_prompt(alert), "Alert facts: " + facts, NOTE_SCHEMA
        )
        self._cases.upsert(
            [
                VectorRecord(
                    id=alert.alert_id,
                    vector=vector,
                    document=text,
                    metadata={"rule": alert.rule, "severity": alert.severity, "ts_ms": ts_ms},
                )
            ]
        )
        note, source = grounded_note(mask_pans(answer["note"]), alert, facts)
        return TriagedAlert.model_validate(
            {
                **alert.to_json_dict(),
                "reasons": [mask_pans(reason) for reason in alert.reasons],
                "note": note,
                "note_source": source,
                "similar_alert_ids": similar,
            }
        )


def build(papp: PipelineApp, triage: Triage) -> None:
    """Declare the dataflow on ``papp``: a bad model answer is retried, then dead-lettered."""
    sdf = papp.app.dataframe(papp.topic("fraud-alerts"))
    triaged = sdf.apply(stage("triage", triage, attempts=3))
    papp.publish(triaged, "fraud-alerts-triaged", key=lambda alert: alert.card_id)


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run fraud-triage``."""
    papp = make_app("fraud-triage", settings)
    cases = vector_collection(settings, CASES_COLLECTION)
    build(papp, Triage(chat_model(settings), cases, embedder(settings)))
    papp.run()
