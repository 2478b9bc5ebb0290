"""The fraud pipeline end to end on the real broker: exact scenarios and a generated stream."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.fraud_pipeline import build
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL, VELOCITY
from pipelines.fraud.settings import FraudSettings
from tests.fraud.transactions import LONDON, NEW_YORK, PARIS, T0, txn
from tests.kafkaio import Record, produce, read


def run_fraud(settings: StreamwiseSettings, fraud: FraudSettings | None = None) -> None:
    papp = make_app("fraud", settings)
    build(papp, fraud or FraudSettings())
    papp.app.run(timeout=6)


def alerts_by_card(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        alert = record.json()
        assert record.key == alert["card_id"].encode()
        out.setdefault(alert["card_id"], []).append(alert)
    return out


@pytest.fixture(scope="module")
def scenario_alerts(module_settings: StreamwiseSettings) -> dict[str, list[dict[str, Any]]]:
    """One run over every hand-written scenario, each on its own card."""
    settings = module_settings
    profile_since = int((T0 - timedelta(days=30)).timestamp() * 1000)
    produce(
        settings,
        "customers",
        [
            ("c-notice", {"card_id": "c-notice", "customer_id": "u1", "home_country": "GB",
                          "travel_notices": [{"country": "FR", "from": "2026-11-19",
                                              "to": "2026-11-25"}]}),
            ("c-risky", {"card_id": "c-risky", "customer_id": "u2", "home_country": "GB",
                         "risk_tier": "high"}),
        ],
        timestamp_ms=profile_since,
    )  # fmt: skip
    s40 = timedelta(seconds=40)
    produce(
        settings,
        "transactions",
        [
            ("c-paris", txn("p1", "c-paris", timedelta(0), LONDON)),
            ("c-paris", txn("p2", "c-paris", s40, PARIS)),
            ("c-paris", txn("p2", "c-paris", s40, PARIS)),  # delivered twice
            ("c-ny", txn("n1", "c-ny", timedelta(0), LONDON)),
            ("c-ny", txn("n2", "c-ny", timedelta(hours=9), NEW_YORK)),
            ("c-online", txn("o1", "c-online", timedelta(0), LONDON)),
            ("c-online", txn("o2", "c-online", s40, NEW_YORK, channel="online")),
            # late: Paris at 10:00:40 arrives after London at 10:05
            ("c-late", txn("l1", "c-late", timedelta(0), LONDON)),
            ("c-late", txn("l3", "c-late", timedelta(minutes=5), LONDON)),
            ("c-late", txn("l2", "c-late", s40, PARIS)),
            ("c-notice", txn("t1", "c-notice", timedelta(0), LONDON)),
            ("c-notice", txn("t2", "c-notice", s40, PARIS)),
            *[("c-risky", txn(f"r{i}", "c-risky", timedelta(seconds=5 * (i - 1)), LONDON))
              for i in range(1, 9)],
        ],
    )  # fmt: skip
    run_fraud(settings)
    return alerts_by_card(read(settings, "fraud-alerts", until=lambda r: len(r) >= 5, idle_s=2))


def test_london_to_paris_in_40_seconds_is_flagged_once(
    scenario_alerts: dict[str, list[dict[str, Any]]],
) -> None:
    [alert] = scenario_alerts["c-paris"]  # the duplicate of p2 alerts nothing more
    assert alert["rule"] == IMPOSSIBLE_TRAVEL
    assert alert["txn_ids"] == ["p1", "p2"]
    assert alert["distance_km"] == pytest.approx(343.9, abs=0.5)
    assert alert["speed_kmh"] == pytest.approx(343.9 / (40 / 3600), rel=0.01)
    assert alert["severity"] == "high"
    assert alert["from"]["country"] == "GB"
    assert alert["to"] == {"lat": 48.8566, "lon": 2.3522, "country": "FR",
                           "ts": "2026-11-20T10:00:40Z"}  # fmt: skip
    assert "London (GB) and Paris (FR) 40 s apart" in alert["reasons"][0]


def test_a_nine_hour_flight_and_an_online_purchase_abroad_are_not_flagged(
    scenario_alerts: dict[str, list[dict[str, Any]]],
) -> None:
    assert "c-ny" not in scenario_alerts
    assert "c-online" not in scenario_alerts


def test_a_late_event_is_compared_with_its_true_neighbours(
    scenario_alerts: dict[str, list[dict[str, Any]]],
) -> None:
    pairs = sorted(a["txn_ids"] for a in scenario_alerts["c-late"])
    assert pairs == [["l1", "l2"], ["l2", "l3"]]


def test_a_travel_notice_lowers_severity_with_the_reason(
    scenario_alerts: dict[str, list[dict[str, Any]]],
) -> None:
    [alert] = scenario_alerts["c-notice"]
    assert alert["severity"] == "low"
    assert any("travel notice" in reason for reason in alert["reasons"])


def test_a_burst_alerts_once_and_a_high_risk_tier_raises_it(
    scenario_alerts: dict[str, list[dict[str, Any]]],
) -> None:
    [alert] = scenario_alerts["c-risky"]
    assert alert["rule"] == VELOCITY
    assert alert["severity"] == "high"  # medium, raised by risk_tier high
    assert len(alert["txn_ids"]) == 6
    assert alert["txn_ids"] == ["r1", "r2", "r3", "r4", "r5", "r6"]


def test_a_generated_stream_is_scored_with_precision_and_recall_of_one(
    settings: StreamwiseSettings,
) -> None:
    stream = generate(n_cards=150, days=3, seed=11)
    assert len(stream.transactions) > 2000
    start_ms = int((min(t.ts for t in stream.transactions) - timedelta(days=1)).timestamp() * 1000)
    produce(
        settings, "customers", [(c.card_id, c) for c in stream.customers], timestamp_ms=start_ms
    )
    produce(settings, "transactions", [(t.card_id, t) for t in stream.transactions])
    expected_velocity = {card for card, bursts in stream.expected_velocity.items() if bursts}
    want = len(stream.expected) + sum(len(b) for b in stream.expected_velocity.values())

    run_fraud(settings)
    records = read(settings, "fraud-alerts", until=lambda r: len(r) >= want, idle_s=2)

    travel = [r.json() for r in records if r.json()["rule"] == IMPOSSIBLE_TRAVEL]
    found = {a["alert_id"] for a in travel}
    assert found, "no impossible-travel alert came out at all"
    assert len(travel) == len(found)  # no alert twice
    true_positives = found & stream.expected
    precision = len(true_positives) / len(found)
    recall = len(true_positives) / len(stream.expected)
    assert (precision, recall) == (1.0, 1.0)

    velocity = [r.json() for r in records if r.json()["rule"] == VELOCITY]
    assert {a["card_id"] for a in velocity} == expected_velocity
    assert len(velocity) == sum(len(b) for b in stream.expected_velocity.values())


def test_a_customers_tombstone_deletes_the_profile_from_its_time_on(
    settings: StreamwiseSettings,
) -> None:
    profile = {"card_id": "c-gone", "customer_id": "u9", "home_country": "GB", "risk_tier": "high"}
    produce(settings, "customers", [("c-gone", profile)],
            timestamp_ms=int((T0 - timedelta(days=1)).timestamp() * 1000))  # fmt: skip
    produce(settings, "customers", [("c-gone", None)],
            timestamp_ms=int((T0 + timedelta(hours=1)).timestamp() * 1000))  # fmt: skip
    two_hours, s40 = timedelta(hours=2), timedelta(seconds=40)
    produce(settings, "transactions", [
        ("c-gone", txn("g1", "c-gone", timedelta(0), LONDON)),
        ("c-gone", txn("g2", "c-gone", s40, PARIS)),
        ("c-gone", txn("g3", "c-gone", two_hours, LONDON)),
        ("c-gone", txn("g4", "c-gone", two_hours + s40, PARIS)),
    ])  # fmt: skip
    run_fraud(settings)
    alerts = read(settings, "fraud-alerts", until=lambda r: len(r) >= 2, idle_s=2)
    before, after = sorted((a.json() for a in alerts), key=lambda alert: alert["ts"])
    assert (before["txn_ids"], after["txn_ids"]) == (["g1", "g2"], ["g3", "g4"])
    assert any("risk tier is high" in reason for reason in before["reasons"])
    assert not any("risk tier" in reason for reason in after["reasons"])  # no profile any more
    assert read(settings, "fraud-dlq", timeout_s=2) == []
