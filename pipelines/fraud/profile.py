"""Adjust an alert's severity with what the customer told us (travel notices, risk tier)."""

from __future__ import annotations

import re

from pipelines.common.events import Customer, FraudAlert, Severity, TravelNotice

_ONE_LEVEL_UP: dict[Severity, Severity] = {"low": "medium", "medium": "high", "high": "high"}
_TRAVEL_NOTICE = "travel notice for {country} from {start} to {end} covers the destination"
_TRAVEL_NOTICE_REASON = re.compile(
    _TRAVEL_NOTICE.format(country=r"[A-Z]{2}", start=r"\S+", end=r"\S+")
)


def travel_notice_reason(notice: TravelNotice) -> str:
    """The reason an alert gets when ``notice`` explains its trip."""
    covers = _TRAVEL_NOTICE.format(
        country=notice.country, start=notice.from_.isoformat(), end=notice.to.isoformat()
    )
    return f"{covers}: severity lowered to low"


def travel_announced(alert: FraudAlert) -> bool:
    """Whether a travel notice of the customer's explains ``alert``'s trip.

    The alert's reasons are its only record of the notice (the contract fixes its
    fields), so the reason ``travel_notice_reason`` wrote is read back here, in the
    one module that writes it.
    """
    return any(_TRAVEL_NOTICE_REASON.match(reason) for reason in alert.reasons)


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
            reasons.append(travel_notice_reason(notice))
    if customer.risk_tier == "high":
        raised = _ONE_LEVEL_UP[severity]
        reasons.append(
            f"customer risk tier is high: severity raised from {severity} to {raised}"
            if raised != severity
            else "customer risk tier is high: severity stays high"
        )
        severity = raised
    return alert.model_copy(update={"severity": severity, "reasons": reasons})
