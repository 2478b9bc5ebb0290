from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.epoch import to_ms
from pipelines.common.events import Customer, FraudAlert
from pipelines.fraud.profile import apply_profile
from pipelines.fraud.rules import TravelRule, travel_alert, velocity_alert
from state.cards import Sighting

ARRIVAL = datetime(2026, 11, 22, 10, 0, 40, tzinfo=UTC)


def london_to_paris() -> FraudAlert:
    arrival_ms = to_ms(ARRIVAL)
    london = Sighting("t1", arrival_ms - 40_000, 51.5074, -0.1278, "GB", "London")
    paris = Sighting("t2", arrival_ms, 48.8566, 2.3522, "FR", "Paris")
    alert = travel_alert("card-1", london, paris, TravelRule())
    assert alert is not None
    return alert


def burst() -> FraudAlert:
    return velocity_alert(
        "card-1",
        [f"t{i}" for i in range(7)],
        window_start=ARRIVAL,
        window_end=ARRIVAL + timedelta(minutes=1),
        count=7,
        limit=5,
    )


def customer(**profile: Any) -> Customer:
    return Customer.model_validate(
        {"card_id": "card-1", "customer_id": "cust-1", "home_country": "GB", **profile}
    )


FRANCE_NOTICE = {"country": "FR", "from": "2026-11-20", "to": "2026-11-30"}


def test_travel_notice_for_the_destination_lowers_severity_with_the_reason() -> None:
    alert = london_to_paris()

    adjusted = apply_profile(alert, customer(travel_notices=[FRANCE_NOTICE]))

    assert adjusted.severity == "low"
    assert adjusted.reasons == [
        *alert.reasons,
        "travel notice for FR from 2026-11-20 to 2026-11-30 covers the destination: "
        "severity lowered to low",
    ]
    assert alert.severity == "high"


def test_travel_notice_for_another_country_or_other_dates_changes_nothing() -> None:
    alert = london_to_paris()
    notices = [
        {"country": "ES", "from": "2026-11-20", "to": "2026-11-30"},
        {"country": "FR", "from": "2026-11-23", "to": "2026-11-30"},
    ]

    assert apply_profile(alert, customer(travel_notices=notices)) == alert


def test_velocity_alert_ignores_travel_notices() -> None:
    alert = burst()
    assert apply_profile(alert, customer(travel_notices=[FRANCE_NOTICE])) == alert


def test_high_risk_customer_raises_severity_one_level() -> None:
    adjusted = apply_profile(burst(), customer(risk_tier="high"))

    assert adjusted.severity == "high"
    assert adjusted.reasons[-1] == "customer risk tier is high: severity raised from medium to high"


def test_high_risk_customer_with_a_notice_ends_at_medium() -> None:
    adjusted = apply_profile(
        london_to_paris(), customer(risk_tier="high", travel_notices=[FRANCE_NOTICE])
    )

    assert adjusted.severity == "medium"
    assert adjusted.reasons[-1] == "customer risk tier is high: severity raised from low to medium"


def test_high_risk_customer_keeps_high_severity_and_says_so() -> None:
    adjusted = apply_profile(london_to_paris(), customer(risk_tier="high"))

    assert adjusted.severity == "high"
    assert adjusted.reasons[-1] == "customer risk tier is high: severity stays high"


def test_without_a_profile_the_alert_is_unchanged() -> None:
    alert = london_to_paris()
    assert apply_profile(alert, None) is alert
