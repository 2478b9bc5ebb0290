"""Fraud triage on the real broker, embedder, LLM and Chroma; a garbage-spewing LLM as the fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from models import ChatModel, JsonObject, ModelOutputInvalid
from pipelines.common.app import make_app
from pipelines.common.backends import chat_model, embedder, vector_collection
from pipelines.common.events import Customer, FraudAlert
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.notes import alert_facts, earlier_verdicts, facts_note, system_prompt
from pipelines.fraud.profile import apply_profile
from pipelines.fraud.triage import CASES_COLLECTION, Triage
from pipelines.fraud.triage_pipeline import build
from tests.kafkaio import produce, read

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def travel_alert(alert_id: str, minutes: int, dest: str) -> dict[str, Any]:
    ts = (T0 + timedelta(minutes=minutes)).isoformat()
    return {
        "alert_id": alert_id, "rule": "impossible_travel", "card_id": f"card-{alert_id}",
        "txn_ids": [f"{alert_id}-a", f"{alert_id}-b"], "ts": ts, "severity": "high",
        "reasons": [f"card present in London (GB) and {dest} 40 s apart: 344 km at 30 960 km/h, "
                    "above the 900 km/h limit; merchant ref 4111 1111 1111 1111"],
        "distance_km": 343.9, "speed_kmh": 30960.0,
        "from": {"lat": 51.5, "lon": -0.12, "country": "GB", "ts": ts},
        "to": {"lat": 48.85, "lon": 2.35, "country": "FR", "ts": ts},
    }  # fmt: skip


def announced_trip(alert_id: str) -> FraudAlert:
    """A London-Paris alert that the customer's travel notice for France lowered."""
    customer = Customer.model_validate({
        "card_id": f"card-{alert_id}", "customer_id": "cust-1", "home_country": "GB",
        "travel_notices": [{"country": "FR", "from": "2026-11-19", "to": "2026-11-25"}],
    })  # fmt: skip
    alert = apply_profile(FraudAlert.model_validate(travel_alert(alert_id, 0, "Paris")), customer)
    assert alert.severity == "low"
    return alert


ANNOUNCED_ADVICE = "The customer announced this trip: confirm it with them before acting."


VELOCITY = {
    "alert_id": "v1", "rule": "velocity", "card_id": "card-v1", "txn_ids": ["x1", "x2"],
    "ts": (T0 + timedelta(minutes=1)).isoformat(), "severity": "medium",
    "reasons": ["9 transactions within 60 s, above the limit of 5"],
}  # fmt: skip


def run_triage(settings: StreamwiseSettings, model: ChatModel) -> None:
    papp = make_app("fraud-triage", settings)
    cases = vector_collection(settings, CASES_COLLECTION)
    build(papp, Triage(model, cases, embedder(settings)))
    papp.app.run(timeout=5)


def test_a_similar_earlier_case_comes_with_the_verdict_it_got(
    settings: StreamwiseSettings,
) -> None:
    model = chat_model(settings)
    earlier, judged = travel_alert("j1", 0, "Paris"), T0 + timedelta(days=20)
    # the verdict may come before triage stored its case: it waits on the case's id
    produce(settings, "fraud-verdicts", [("j1", {"alert_id": "j1", "verdict": "fraud",
                                                 "ts": judged.isoformat()})])  # fmt: skip
    produce(settings, "fraud-alerts", [(earlier["card_id"], earlier)])
    run_triage(settings, model)
    later = travel_alert("j2", 5, "Paris (FR)")
    produce(settings, "fraud-alerts", [(later["card_id"], later)])
    run_triage(settings, model)

    records = read(settings, "fraud-alerts-triaged", until=lambda r: len(r) >= 2)
    triaged = {r.json()["alert_id"]: r.json() for r in records}
    assert triaged["j1"]["similar_verdicts"] == []
    assert triaged["j2"]["similar_alert_ids"] == ["j1"]
    assert triaged["j2"]["similar_verdicts"] == [{"alert_id": "j1", "verdict": "fraud"}]
    if triaged["j2"]["note_source"] == "facts":
        assert "1 similar earlier, 1 confirmed fraud." in triaged["j2"]["note"]


def test_the_facts_say_how_many_similar_earlier_cases_were_confirmed_fraud() -> None:
    alert = FraudAlert.model_validate(travel_alert("a1", 0, "Paris"))
    earlier = earlier_verdicts(3, ["fraud", "legitimate", "fraud"])

    assert earlier == "3 similar earlier, 2 confirmed fraud"
    assert orjson.loads(alert_facts(alert, earlier))["similar_cases"] == earlier
    assert "3 similar earlier, 2 confirmed fraud. Check whether" in facts_note(alert, earlier)
    assert earlier_verdicts(3, []) is None  # none judged: "0 confirmed" would read as cleared
    assert "similar_cases" not in orjson.loads(alert_facts(alert))


def test_alerts_get_a_note_and_their_similar_earlier_cases(settings: StreamwiseSettings) -> None:
    alerts = [travel_alert("a1", 0, "Paris"), VELOCITY, travel_alert("a2", 5, "Paris (FR)")]
    model = chat_model(settings)
    # Cards land on different partitions, read in no fixed order: a2 comes once the
    # earlier cases are triaged, so that they are there to be found.
    produce(settings, "fraud-alerts", [(a["card_id"], a) for a in alerts[:2]])
    run_triage(settings, model)
    produce(settings, "fraud-alerts", [(alerts[2]["card_id"], alerts[2])])
    run_triage(settings, model)

    records = read(settings, "fraud-alerts-triaged", until=lambda r: len(r) >= 3)
    triaged = {r.json()["alert_id"]: r.json() for r in records}
    assert set(triaged) == {"a1", "v1", "a2"}
    for alert_id, alert in triaged.items():
        FraudAlert.model_validate(alert)
        assert len(alert["note"]) >= 10, alert_id
        assert alert["note_source"] in {"model", "facts"}
        assert "4111 1111 1111 1111" not in str(alert)
    assert triaged["a1"]["similar_alert_ids"] == []  # nothing earlier
    assert triaged["a2"]["similar_alert_ids"][0] == "a1"  # the same kind of case comes first
    assert vector_collection(settings, CASES_COLLECTION).count() == 3


class GarbageModel:
    """Fault injection: a model whose answers never parse."""

    model_id = "garbage"

    def __init__(self) -> None:
        self.calls = 0

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        self.calls += 1
        raise ModelOutputInvalid(raw="{{{ not json", reason="expecting property name")


def test_an_alert_the_model_cannot_note_goes_to_the_dlq_after_retries(
    settings: StreamwiseSettings,
) -> None:
    produce(settings, "fraud-alerts", [("card-a1", travel_alert("a1", 0, "Paris"))])
    model = GarbageModel()

    run_triage(settings, model)

    [dead] = read(settings, "fraud-triage-dlq", until=lambda r: len(r) >= 1)
    assert model.calls == 3
    assert dead.json()["alert_id"] == "a1"
    assert dead.header("streamwise.stage") == "triage"
    assert dead.header("streamwise.detail.raw") == "{{{ not json"
    assert read(settings, "fraud-alerts-triaged", timeout_s=2) == []


class CopyingModel:
    """Fault injection: a model that writes its worked example whatever the case (SmolLM2 does)."""

    model_id = "copying"

    def complete_json(self, system: str, user: str, schema: JsonObject) -> JsonObject:
        example: JsonObject = orjson.loads(system.split("Example: ", 1)[1])
        return example


def test_a_note_naming_places_or_counts_the_alert_does_not_is_rebuilt_from_the_facts(
    settings: StreamwiseSettings,
) -> None:
    elsewhere = travel_alert("m1", 0, "Kaduna (NG)")
    elsewhere["reasons"] = [
        "card present in Montréal (CA) and Kaduna (NG) 27 min 59 s apart: 8 474 km at "
        "18 170 km/h, above the 900 km/h limit"
    ]
    burst = {
        **VELOCITY,
        "alert_id": "v6",
        "reasons": ["6 transactions within 60 s, above the limit of 5"],
    }
    announced = announced_trip("n1").to_json_dict()
    produce(settings, "fraud-alerts", [(a["card_id"], a) for a in (elsewhere, burst, announced)])

    run_triage(settings, CopyingModel())

    records = read(settings, "fraud-alerts-triaged", until=lambda r: len(r) >= 3)
    notes = {r.json()["alert_id"]: r.json()["note"] for r in records}
    assert {r.json()["note_source"] for r in records} == {"facts"}
    assert notes["m1"] == facts_note(FraudAlert.model_validate(elsewhere))
    assert notes["m1"].startswith("Card present in Montréal (CA) and Kaduna (NG) 27 min 59 s")
    assert "London" not in notes["m1"]
    assert notes["v6"] == (
        "6 transactions within 60 s, above the limit of 5. "
        "Check whether the purchases are genuine and consider blocking the card."
    )
    assert notes["n1"].endswith("severity lowered to low. " + ANNOUNCED_ADVICE)


def test_the_note_of_an_alert_a_travel_notice_lowered_asks_to_confirm_the_trip() -> None:
    announced, unannounced = (
        announced_trip("n1"),
        FraudAlert.model_validate(travel_alert("u1", 0, "Paris")),
    )

    assert facts_note(announced).endswith(ANNOUNCED_ADVICE)
    assert "cloned" not in facts_note(announced)
    assert ANNOUNCED_ADVICE in system_prompt(announced)
    assert "cloned" not in system_prompt(announced)
    assert "cloned" in facts_note(unannounced)
    assert "cloned" in system_prompt(unannounced)
