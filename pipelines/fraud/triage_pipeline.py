r"""Fraud triage: an analyst note and similar past cases for every alert, off the hot path.

fraud-alerts --triage--> fraud-alerts-triaged
fraud-verdicts --record_verdict--> the alert's case (Chroma)
failing --> fraud-triage-dlq
triage: embed the case, recall similar earlier cases with their verdicts, ask the LLM for
a note, remember the case

Its own consumer group: a slow or failing model delays the triaged copies only,
never ``fraud-alerts``. The note is written from the alert's facts alone, and a note
that states a figure or a name the facts do not is replaced by one built from them.
Verdicts are kept on the cases themselves (``state/cases.py`` says why), in whichever
order a verdict and its alert's case come.
"""

from __future__ import annotations

from pipelines.common.app import PipelineApp, make_app
from pipelines.common.backends import chat_model, embedder, vector_collection
from pipelines.common.dlq import stage
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.triage import CASES_COLLECTION, Triage


def build(papp: PipelineApp, triage: Triage) -> None:
    """Declare the dataflow on ``papp``: a bad model answer is retried, then dead-lettered."""
    app = papp.app
    verdicts = app.dataframe(papp.topic("fraud-verdicts"))
    verdicts.update(stage("record_verdict", triage.record_verdict))
    triaged = app.dataframe(papp.topic("fraud-alerts")).apply(stage("triage", triage, attempts=3))
    papp.publish(triaged, "fraud-alerts-triaged", key=lambda alert: alert.card_id)


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run fraud-triage``."""
    papp = make_app("fraud-triage", settings)
    cases = vector_collection(settings, CASES_COLLECTION)
    build(papp, Triage(chat_model(settings), cases, embedder(settings)))
    papp.run()
