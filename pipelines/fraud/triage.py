"""The triage step: embed a case, recall similar earlier cases, ask for a note, remember it.

The I/O half of triage (embedder, vector store, chat model); what is asked and what
is kept of the answer is ``notes``. Cases live in one vector collection keyed by alert
id (``state/cases.py``), so a redelivered alert overwrites its own case instead of
adding a twin, and an analyst's verdict on an alert is kept on its case, for the alerts
that recall it later.
"""

from __future__ import annotations

from models import ChatModel, Embedder
from pipelines.common.epoch import to_ms
from pipelines.common.events import FraudAlert, FraudVerdict, TriagedAlert
from pipelines.common.text.pii import mask_pans
from pipelines.fraud.notes import (
    NOTE_SCHEMA,
    alert_facts,
    case_text,
    earlier_verdicts,
    grounded_note,
    system_prompt,
)
from state.cases import CaseFile
from state.vectors import VectorCollection

CASES_COLLECTION = "fraud-cases"
SIMILAR_CASES = 3


class Triage:
    """Embeds a case, finds similar earlier ones, asks for a note, remembers the case."""

    def __init__(self, model: ChatModel, cases: VectorCollection, embed: Embedder) -> None:
        self._model, self._cases, self._embed = model, CaseFile(cases), embed

    def __call__(self, alert: FraudAlert) -> TriagedAlert:
        text = case_text(alert)
        [vector] = self._embed.embed([text])
        ts_ms = to_ms(alert.ts)
        similar = self._cases.similar(
            vector, before_ms=ts_ms, k=SIMILAR_CASES, exclude=alert.alert_id
        )
        judged = [(case.alert_id, case.verdict) for case in similar if case.verdict is not None]
        earlier = earlier_verdicts(len(similar), [verdict for _, verdict in judged])
        facts = alert_facts(alert, earlier)
        answer = self._model.complete_json(
            system_prompt(alert), "Alert facts: " + facts, NOTE_SCHEMA
        )
        self._cases.remember(
            alert.alert_id, vector, text,
            {"rule": alert.rule, "severity": alert.severity, "ts_ms": ts_ms},
        )  # fmt: skip
        note, source = grounded_note(mask_pans(answer["note"]), alert, facts, earlier)
        return TriagedAlert.model_validate(
            {
                **alert.to_json_dict(),
                "reasons": [mask_pans(reason) for reason in alert.reasons],
                "note": note,
                "note_source": source,
                "similar_alert_ids": [case.alert_id for case in similar],
                "similar_verdicts": [{"alert_id": a, "verdict": v} for a, v in judged],
            }
        )

    def record_verdict(self, verdict: FraudVerdict) -> None:
        """Keep ``verdict`` on its alert's case, for the alerts that recall the case later."""
        self._cases.judge(verdict.alert_id, verdict.verdict, to_ms(verdict.ts))
