"""Contract events as lake rows: column types, conversion, new fields, poison (no catalog)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from pipelines.common.events import Answer, FeedbackInsight, FraudAlert
from pipelines.common.serialization import decode_event
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.rows import (
    DAY,
    Unfit,
    event_day,
    lacks,
    table_name,
    table_schema,
    to_row,
)

ALERT = (
    b'{"alert_id":"a1","rule":"impossible_travel","card_id":"c1","txn_ids":["t1","t2"],'
    b'"ts":"2026-11-20T23:30:00-02:00","severity":"high","reasons":["too fast"],'
    b'"distance_km":344.0,"from":{"lat":51.5,"lon":-0.1,"country":"GB",'
    b'"ts":"2026-11-20T10:00:00Z"}}'
)


def record(raw: bytes = ALERT) -> dict[str, object]:
    return decode_event(FraudAlert, raw).model_dump(by_alias=True)


def alert_row(extra: bytes = b"", schema: pa.Schema | None = None) -> tuple[dict, pa.Schema]:
    raw = ALERT[:-1] + extra + b"}" if extra else ALERT
    rec = record(raw)
    return to_row(rec, schema or table_schema(FraudAlert), event_day(rec, 0))


def test_a_topic_s_table_is_its_name_with_underscores() -> None:
    assert table_name("fraud-alerts-triaged") == "fraud_alerts_triaged"


def test_contract_fields_get_typed_columns() -> None:
    schema = table_schema(FraudAlert)
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("reasons").type == pa.list_(pa.string())
    assert schema.field("from").type.field("country").type == pa.string()
    assert schema.field("distance_km").type == pa.float64()
    assert schema.names[-3:] == [DAY, "_kafka_partition", "_kafka_offset"]


def test_counts_are_maps_and_open_shaped_lists_json_text() -> None:
    schema = table_schema(FeedbackInsight)
    assert schema.field("sentiment_counts").type == pa.map_(pa.string(), pa.int64())
    assert schema.field("top_categories").type == pa.string()
    citations = table_schema(Answer).field("citations").type
    assert citations.value_type.field("version").type == pa.int64()


def test_the_day_is_the_utc_day_of_the_event_time() -> None:
    row, _ = alert_row()
    assert row["ts"] == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # -02:00 as UTC
    assert row[DAY] == date(2026, 11, 21)


def test_without_an_event_time_the_day_is_the_kafka_timestamp_s() -> None:
    moment = datetime(2026, 11, 22, 23, 59, tzinfo=timezone(timedelta(hours=-3)))
    assert event_day({"answer": "x"}, int(moment.timestamp() * 1000)) == date(2026, 11, 23)
    assert event_day({"window_start": moment}, 0) == date(2026, 11, 23)


def test_a_record_s_own_schema_is_returned_unchanged() -> None:
    schema = table_schema(FraudAlert)
    row, widened = alert_row(schema=schema)
    assert widened is schema
    assert row["from"]["country"] == "GB"
    assert row["to"] is None


def test_a_field_the_contract_does_not_define_becomes_a_new_column() -> None:
    row, widened = alert_row(b',"region":"EU","score":3,"tags":["x",{"y":1}]')
    assert lacks(table_schema(FraudAlert), widened) == ["region", "score", "tags"]
    assert widened.field("score").type == pa.int64()
    assert row["tags"] == '["x",{"y":1}]'  # an open shape as JSON text


def test_a_new_field_in_a_nested_object_widens_its_struct() -> None:
    raw = ALERT.replace(b'"country":"GB"', b'"country":"GB","city":"London"')
    rec = record(raw)
    row, widened = to_row(rec, table_schema(FraudAlert), date(2026, 11, 20))
    assert lacks(table_schema(FraudAlert), widened) == ["from.city"]
    assert row["from"]["city"] == "London"


def test_a_null_in_a_field_never_seen_adds_nothing() -> None:
    _, widened = alert_row(b',"region":null')
    assert lacks(table_schema(FraudAlert), widened) == []


def test_an_integer_fits_a_double_column() -> None:
    _, schema = alert_row(b',"score":0.5')
    row, _ = alert_row(b',"score":2', schema)
    assert row["score"] == 2.0


@pytest.mark.parametrize(
    ("first", "then", "reason"),
    [
        (b',"score":3', b',"score":0.5', "score: the column holds int64; got 0.5"),
        (b',"region":"EU"', b',"region":5', "region: the column holds string; got 5"),
        (b',"flag":true', b',"flag":"yes"', "flag: the column holds bool; got 'yes'"),
    ],
)
def test_a_value_its_column_cannot_hold_is_unfit(first: bytes, then: bytes, reason: str) -> None:
    _, schema = alert_row(first)
    with pytest.raises(Unfit, match=reason):
        alert_row(then, schema)


def test_a_field_named_as_a_lake_column_is_unfit() -> None:
    with pytest.raises(Unfit, match="_day: the lake adds a column of that name"):
        alert_row(b',"_day":"2026-11-20"')


def test_a_field_sql_cannot_tell_from_a_column_is_unfit() -> None:
    with pytest.raises(Unfit, match="Rule: SQL does not tell it from the column 'rule'"):
        alert_row(b',"Rule":"x"')


def test_an_integer_beyond_64_bits_is_unfit() -> None:
    with pytest.raises(Unfit, match="out of the 64-bit integer range"):
        alert_row(b',"big":12345678901234567890')  # past 2**63, below 2**64


def test_the_book_keeps_a_table_s_new_columns_only_for_rows_that_fit() -> None:
    book = SchemaBook({"fraud_alerts": table_schema(FraudAlert)})
    day = date(2026, 11, 20)
    book.convert("fraud_alerts", {**record(), "score": 1}, day)
    with pytest.raises(Unfit):
        book.convert("fraud_alerts", {**record(), "score": "high", "region": "EU"}, day)
    assert lacks(table_schema(FraudAlert), book.schema("fraud_alerts")) == ["score"]


INSIGHT = (
    b'{"window_start":"2026-11-20T10:00:00Z","window_end":"2026-11-20T10:05:00Z","count":3,'
    b'"sentiment_counts":{"negative":2,"neutral":0,"positive":1},"avg_rating":null,'
    b'"top_categories":[{"category":"fees","count":2}],"top_key_phrases":[],'
    b'"source_counts":{"chat":3}}'
)
ANSWER = (
    b'{"question_id":"q1","answer":"Yes.","citations":[{"doc_id":"d1","version":2,'
    b'"chunk_id":"d1#0"}],"index_version":7,"model":"m","latency_ms":12,"status":"ok"}'
)


@pytest.mark.parametrize(
    ("model", "raw"), [(FraudAlert, ALERT), (FeedbackInsight, INSIGHT), (Answer, ANSWER)]
)
def test_the_book_s_compiled_plan_converts_as_the_general_walk_does(
    model: type[FraudAlert | FeedbackInsight | Answer], raw: bytes
) -> None:
    rec = decode_event(model, raw).model_dump(by_alias=True)
    schema, day = table_schema(model), date(2026, 11, 20)
    assert SchemaBook({"t": schema}).convert("t", rec, day) == to_row(rec, schema, day)[0]
