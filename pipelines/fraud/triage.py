"""The triage step: embed a case, recall similar earlier cases, ask for a note, remember it.

The I/O half of triage (embedder, vector store, chat model); what is asked and what
is kept of the answer is ``notes``. Cases live in one vector collection keyed by alert
id, so a redelivered alert overwrites its own case instead of adding a twin.
"""

from __future__ import annotations

from models import ChatModel, Embedder
from pipelines.common.epoch import to_ms
from pipelines.common.events import FraudAlert, TriagedAlert
from pipelines.common.text.pii import mask_pans
from pipelines.fraud.notes import NOTE_SCHEMA, alert_facts, case_text, grounded_note, system_prompt
from state.vectors import VectorCollection, VectorRecord

CASES_COLLECTION = "fraud-cases"
SIMILAR_CASES = 3


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
