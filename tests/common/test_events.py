"""Event fields as a newcomer types them: misspelt names, enumerations, the documented lists."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from quixstreams.models.serializers import SerializationContext

from pipelines.common import events
from pipelines.common.near_miss import NearMiss, near_misses
from pipelines.common.serialization import EventDeserializer, PoisonMessage, decode_event
from pipelines.common.topics import CONTRACT_TOPICS, spec
from pipelines.fields import EXAMPLES, TOPICS_PAGE, field_help, topics_page
from pipelines.produce import keyed_lines

TXN: dict[str, Any] = {
    "txn_id": "t-1", "card_id": "card-1", "ts": "2026-11-22T10:00:00Z", "lat": 51.5,
    "lon": -0.12, "amount": 12.5, "currency": "GBP", "merchant": "Corner Shop",
    "country": "GB", "channel": "online",
}  # fmt: skip
CUSTOMER: dict[str, Any] = {"card_id": "card-1", "customer_id": "cust-1", "home_country": "GB"}
NOTICE = {"country": "FR", "from": "2026-11-20", "to": "2026-11-27"}


def _raw(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)


def _value_of(topic: str) -> SerializationContext:
    return SerializationContext(topic, "value")


def _kept(model: type[events.Event], value: dict[str, Any]) -> tuple[events.Event, list[str]]:
    found: list[NearMiss] = []
    event = decode_event(model, _raw(value), found.append)
    return event, [miss.describe() for miss in found]


def test_a_singular_travel_notice_is_rejected_with_a_hint() -> None:
    with pytest.raises(PoisonMessage) as rejected:
        decode_event(events.Customer, _raw({**CUSTOMER, "travel_notice": NOTICE}))
    assert str(rejected.value) == (
        "invalid Customer: unknown field 'travel_notice': did you mean 'travel_notices'?"
    )


def test_card_present_true_on_a_transaction_is_kept_with_a_warning() -> None:
    event, warnings = _kept(events.Transaction, {**TXN, "card_present": True})
    assert warnings == ['unknown field \'card_present\': did you mean "channel": "card_present"?']
    assert event.model_extra == {"card_present": True}


@pytest.mark.parametrize("tier", ["High", "extreme", "low", "medium"])
def test_a_risk_tier_that_means_nothing_is_rejected(tier: str) -> None:
    with pytest.raises(PoisonMessage, match=r"risk_tier: Input should be 'standard' or 'high'"):
        decode_event(events.Customer, _raw({**CUSTOMER, "risk_tier": tier}))


def test_a_misspelt_required_field_is_named_beside_the_missing_one() -> None:
    typed = {key: value for key, value in TXN.items() if key != "channel"} | {"chanel": "online"}
    with pytest.raises(PoisonMessage) as rejected:
        decode_event(events.Transaction, _raw(typed))
    assert str(rejected.value) == (
        "invalid Transaction: channel: Field required; "
        "unknown field 'chanel': did you mean 'channel'?"
    )


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ({"RiskTier": "high"}, "unknown field 'RiskTier': did you mean 'risk_tier'?"),
        ({"high": True}, 'unknown field \'high\': did you mean "risk_tier": "high"?'),
        ({"travel-notices": []}, "unknown field 'travel-notices': did you mean 'travel_notices'?"),
    ],
)  # fmt: skip
def test_another_spelling_of_an_absent_optional_field_is_rejected(
    typed: dict[str, Any], hint: str
) -> None:
    with pytest.raises(PoisonMessage, match=hint):
        decode_event(events.Customer, _raw({**CUSTOMER, **typed}))


def test_a_typo_inside_a_travel_notice_is_kept_with_a_warning() -> None:
    notice = {**NOTICE, "contry": "FR"}
    _, warnings = _kept(events.Customer, {**CUSTOMER, "travel_notices": [notice]})
    assert warnings == ["unknown field 'travel_notices.0.contry': did you mean 'country'?"]


@pytest.mark.parametrize(
    ("model", "value"),
    [
        (events.Transaction, {**TXN, "merchant_id": "m-9", "country_code": "GB", "mcc": "5411"}),
        (events.Question, {"question_id": "q", "text": "Hi?", "ts": TXN["ts"], "customer": "Ann"}),
        (events.Customer, {**CUSTOMER, "segment": "retail", "tier_since": "2020-01-01"}),
    ],
)
def test_extra_fields_unlike_any_known_one_are_kept_silently(
    model: type[events.Event], value: dict[str, Any]
) -> None:
    event, warnings = _kept(model, value)
    assert warnings == []
    assert event.model_extra
    assert set(event.model_extra) <= set(value)


def test_produce_reports_a_kept_near_miss_with_its_line_number() -> None:
    warnings: list[tuple[int, str]] = []
    lines = [orjson.dumps(TXN).decode(), orjson.dumps({**TXN, "card_present": True}).decode()]

    sent = list(keyed_lines(spec("transactions"), lines, warnings))

    assert [(number, key) for number, key, _ in sent] == [(1, b"card-1"), (2, b"card-1")]
    assert warnings == [
        (2, "unknown field 'card_present': did you mean \"channel\": \"card_present\"? "
            "(kept as an extra field)"),
    ]  # fmt: skip


def test_a_pipeline_logs_a_kept_near_miss_once_per_topic_and_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deserialize = EventDeserializer(events.Transaction)
    typo = _raw({**TXN, "card_present": True})
    with caplog.at_level(logging.WARNING, logger="pipelines.common.serialization"):
        for _ in range(3):
            deserialize(typo, _value_of("transactions"))
        deserialize(typo, _value_of("other-transactions"))
    assert [record.getMessage() for record in caplog.records] == [
        f'{topic}: unknown field \'card_present\': did you mean "channel": "card_present"? '
        "(kept as an extra field)"
        for topic in ("transactions", "other-transactions")
    ]


def test_a_pipeline_rejects_a_lost_meaning_as_poison() -> None:
    deserialize = EventDeserializer(events.Customer)
    with pytest.raises(PoisonMessage, match="did you mean 'travel_notices'"):
        deserialize(_raw({**CUSTOMER, "travel_notice": NOTICE}), _value_of("customers"))


def test_an_event_without_unknown_fields_has_no_near_misses() -> None:
    assert near_misses(events.Transaction, TXN) == []


@pytest.mark.parametrize(
    "topic", ["transactions", "customers", "feedback", "kb-changes", "questions", "fraud-verdicts"]
)
def test_every_input_topic_has_an_example_line_that_validates_cleanly(topic: str) -> None:
    model = spec(topic).model
    assert model is not None
    event, warnings = _kept(model, EXAMPLES[topic])
    assert warnings == []
    assert event.model_extra == {}


def test_the_field_help_lists_required_fields_first_with_their_enumerations() -> None:
    help_text = field_help("customers")
    lines = help_text.splitlines()
    assert lines[0] == "customers (key: card_id)"
    assert [line.split()[1] for line in lines[1:4]] == ["required"] * 3
    assert any(
        line.split()[:2] == ["risk_tier", "optional"] and "one of standard, high" in line
        for line in lines
    )
    assert any(
        line.split()[:4] == ["travel_notices[].from", "required", "in", "each"] for line in lines
    )
    assert lines[-2:] == ["  example line:", f"    {json.dumps(EXAMPLES['customers'])}"]


def test_the_topics_page_covers_every_contract_topic_with_its_key() -> None:
    page = topics_page()
    for topic in CONTRACT_TOPICS:
        assert f"## `{topic.name}`\n\nKey: `{topic.key_field}`." in page
    assert page.count("```json") == len(EXAMPLES)


def test_the_committed_topics_page_is_what_the_models_say() -> None:
    committed = (Path(__file__).parents[2] / TOPICS_PAGE).read_text(encoding="utf-8")
    assert committed == topics_page(), f"regenerate: python -m pipelines.fields > {TOPICS_PAGE}"


def test_an_insight_without_ratings_reads_back_from_its_wire_form() -> None:
    insight = events.FeedbackInsight(
        window_start="2026-11-20T10:00:00Z", window_end="2026-11-20T10:05:00Z", count=2,
        sentiment_counts={"negative": 2}, avg_rating=None, top_categories=[],
        top_key_phrases=[], source_counts={"email": 2},
    )  # fmt: skip
    wire = insight.to_json_dict()
    assert "avg_rating" not in wire
    assert events.FeedbackInsight.model_validate(wire) == insight
