"""Adjust an alert's severity with what the customer told us (travel notices, risk tier)."""

from __future__ import annotations

from pipelines.common.events import Customer, FraudAlert, Severity

_ONE_LEVEL_UP: dict[Severity, Severity] = {"low": "medium", "medium": "high", "high": "high"}


def apply_profile(alert: FraudAlert, customer: Customer | None) -> FraudAlert:
    """Return ``alert`` with severity and reasons adjusted by the card's customer profile.

    A travel notice covering the destination country on the destination day
    (UTC) explains the trip, so severity drops to ``low``; a ``high`` risk tier
    then raises it one level. Alerts without a destination (velocity) ignore
    notices. Without a profile the alert is returned unchanged.
    """
    if customer is None:
        return alert
    severity, reasons = alert.severity, list(alert.reasons)
    if alert.to is not None:
        country, day = alert.to.country, alert.to.ts.date()
        notice = next((n for n in customer.travel_notices if n.covers(country, day)), None)
        if notice is not None:
            severity = "low"
            reasons.append(
                f"travel notice for {notice.country} from {notice.from_.isoformat()} "
                f"to {notice.to.isoformat()} covers the destination: severity lowered to low"
            )
    if customer.risk_tier == "high":
        raised = _ONE_LEVEL_UP[severity]
        reasons.append(
            f"customer risk tier is high: severity raised from {severity} to {raised}"
            if raised != severity
            else "customer risk tier is high: severity stays high"
        )
        severity = raised
    return alert.model_copy(update={"severity": severity, "reasons": reasons})
