r"""Fraud quality: analysts' verdicts joined to their alerts, precision per rule and severity.

fraud-alerts   -(alert_id)-\
                            +-> judge (stateful per alert id) -(rule)-> tally (stateful per rule)
fraud-verdicts -(alert_id)-/                                              --> fraud-quality, gauges
undecodable / invalid / failing --> fraud-quality-dlq

One stateful step over both streams, not Quix's ``join_asof``: an as-of join emits only
for its left side and only finds right records stamped before it, so a verdict that
came before its alert would be lost, and a changed verdict would be counted as a second
one. The step keeps per alert id what the join needs (``state/quality.py``) for
``FRAUD_VERDICT_TTL`` (180 days by default: chargebacks come weeks later).

Both streams are re-keyed by alert id, verdicts too although the contract keys them so:
any producer may write verdicts (the dashboard, a chargeback feed), and librdkafka's
default partitioner puts a key on another partition than Java's and Quix's murmur2, so
the verdict would never meet its alert's state. Re-keyed here, both sides are
partitioned alike whoever produced them, for the price of an internal topic carrying
the (human-paced) verdicts. Quix reads the two re-keyed topics in timestamp order, so
a verdict usually comes after its alert; one before it waits in the alert id's state.

Contributions are re-keyed by rule for the counts; a window's record comes again each
time one of its alerts is judged (``quality.py`` says why alert time, not verdict time).
"""

from __future__ import annotations

from typing import Any

from quixstreams.state import State

from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.epoch import duration_ms
from pipelines.common.events import FraudAlert, FraudQuality, FraudVerdict
from pipelines.common.serialization import JsonSerializer
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.fraud.quality import Contribution, VerdictJoin, tally
from pipelines.fraud.quality_gauges import QualityGauges
from pipelines.fraud.settings import QualitySettings
from state.quality import CaseStore, TallyStore


class QualityCounter:
    """The join and the counts bound to settings and gauges; one instance per pipeline.

    A window's counts can change while a verdict can still join one of its alerts: the
    TTL after its end. They are kept that long after their last change.
    """

    def __init__(self, settings: QualitySettings, gauges: QualityGauges) -> None:
        self._join = VerdictJoin(
            ttl_ms=duration_ms(settings.verdict_ttl),
            window_ms=duration_ms(settings.quality_window),
        )
        self._case_ttl = settings.verdict_ttl
        self._window_ttl = settings.verdict_ttl + settings.quality_window
        self._gauges = gauges

    def judge(
        self, event: FraudAlert | FraudVerdict, state: State[str, Any]
    ) -> Contribution | None:
        judged = self._join.judge(event, CaseStore(state, self._case_ttl))
        if judged.unmatched is not None:
            self._gauges.unmatched(judged.unmatched)
        return judged.contribution

    def tally(self, contribution: dict[str, Any], state: State[str, Any]) -> list[FraudQuality]:
        records = tally(Contribution(**contribution), TallyStore(state, self._window_ttl))
        if records:
            self._gauges.show(records[-1])
        return records


def _alert_id(event: FraudAlert | FraudVerdict) -> str:
    return event.alert_id


def _rule(contribution: Contribution) -> str:
    return contribution.rule


def build(papp: PipelineApp, settings: QualitySettings) -> None:
    """Declare the dataflow on ``papp``; nothing runs until ``papp.run()``."""
    counter = QualityCounter(settings, QualityGauges(papp.metrics.registry))
    events = papp.rekeyed("fraud-alerts", FraudAlert, _alert_id, "alert_id").concat(
        papp.rekeyed("fraud-verdicts", FraudVerdict, _alert_id, "alert_id")
    )
    contributions = events.apply(stage("judge", counter.judge), stateful=True).filter(
        lambda contribution: contribution is not None
    )
    by_rule = papp.regroup(
        contributions, _rule, name="rule", key_serializer="str", key_deserializer="str",
        value_serializer=JsonSerializer(), value_deserializer="json",
    )  # fmt: skip
    records = by_rule.apply(stage("tally", counter.tally), stateful=True, expand=True)
    papp.publish(records, "fraud-quality", key=lambda record: record.rule)


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run fraud-quality``."""
    quality = load_settings(QualitySettings)  # a bad FRAUD_* setting fails before any client
    papp = make_app("fraud-quality", settings)
    build(papp, quality)
    papp.run()
