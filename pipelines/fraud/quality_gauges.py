"""Prometheus view of rule quality: the cumulative counts of each rule, per severity.

Labels are the rule and the severity only (``all`` for the rule's totals): a handful
of series, whatever the traffic. The gauges follow the ``fraud-quality`` records this
replica publishes, so they appear with a rule's first change after a start, and a
replica that hands a rule over in a rebalance keeps showing its last values until it
restarts; the ``fraud-quality`` topic is the record, the gauges are for dashboards and
alerting.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from pipelines.common.events import FraudQuality, QualityCounts
from pipelines.fraud.quality import Unmatched

ALL_SEVERITIES = "all"


class QualityGauges:
    """The gauges of one pipeline, in its metrics registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["rule", "severity"]
        self._alerts = Gauge(
            "streamwise_fraud_quality_alerts", "Alerts counted for their rule's quality.",
            labels, registry=registry,
        )  # fmt: skip
        self._verdicts = Gauge(
            "streamwise_fraud_quality_verdicts", "Of those, alerts with a verdict.",
            labels, registry=registry,
        )  # fmt: skip
        self._confirmed = Gauge(
            "streamwise_fraud_quality_confirmed", "Of those, alerts judged fraud.",
            labels, registry=registry,
        )  # fmt: skip
        self._precision = Gauge(
            "streamwise_fraud_quality_precision",
            "Confirmed over judged alerts (absent until an alert of the rule is judged).",
            labels, registry=registry,
        )  # fmt: skip
        self._unmatched = Counter(
            "streamwise_fraud_verdicts_unmatched",
            "Verdicts that counted nowhere when they came: before_alert (their alert not "
            "known yet; they wait for it, FRAUD_VERDICT_TTL at most) or past_ttl (more than "
            "FRAUD_VERDICT_TTL after their alert).",
            ["reason"], registry=registry,
        )  # fmt: skip

    def show(self, cumulative: FraudQuality) -> None:
        """Set the gauges of ``cumulative``'s rule, its totals and each severity."""
        self._set(cumulative.rule, ALL_SEVERITIES, cumulative)
        for severity, counts in cumulative.by_severity.items():
            self._set(cumulative.rule, severity, counts)

    def unmatched(self, reason: Unmatched) -> None:
        self._unmatched.labels(reason).inc()

    def _set(self, rule: str, severity: str, counts: QualityCounts) -> None:
        self._alerts.labels(rule, severity).set(counts.alerts)
        self._verdicts.labels(rule, severity).set(counts.verdicts)
        self._confirmed.labels(rule, severity).set(counts.confirmed)
        if counts.precision is not None:
            self._precision.labels(rule, severity).set(counts.precision)
