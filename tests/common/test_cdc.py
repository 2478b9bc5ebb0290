"""Debezium's own output decoded: envelope with and without schema, flattened rows, tombstones.

The payloads are shaped as the PostgreSQL connector writes them with the JsonConverter
(``schemas.enable`` on and off); the end-to-end test against real PostgreSQL, Kafka
Connect and Debezium lives with the pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from pipelines.common.cdc.debezium import decode_change, decode_key
from pipelines.common.cdc.mapping import UNAVAILABLE, customer_profile, kb_change
from pipelines.common.events import Customer, KbChange
from pipelines.common.serialization import PoisonMessage

NOTICES = '[{"country": "FR", "from": "2026-12-01", "to": "2026-12-09"}]'
ROW = {"card_id": "card-1", "customer_id": "cust-1", "home_country": "GB",
       "travel_notices": NOTICES, "risk_tier": "standard", "email": "a@example.com"}  # fmt: skip
SOURCE = {"version": "3.6.1.Final", "connector": "postgresql", "name": "shop",
          "ts_ms": 1764583200000, "snapshot": "false", "db": "shop", "schema": "public",
          "table": "customers",
          "txId": 771, "lsn": 24023128}  # fmt: skip


def envelope(op: str, before: Any, after: Any) -> dict[str, Any]:
    return {"before": before, "after": after, "source": SOURCE, "op": op, "ts_ms": 1764583200123,
            "transaction": None}  # fmt: skip


def with_schema(payload: Any) -> bytes:
    return orjson.dumps({"schema": {"type": "struct", "optional": False, "fields": []},
                         "payload": payload})  # fmt: skip


KEY = {"card_id": "card-1"}


@pytest.mark.parametrize("encode", [orjson.dumps, with_schema], ids=["plain", "schema"])
@pytest.mark.parametrize("op", ["c", "u", "r"])
def test_an_insert_update_or_snapshot_read_is_the_row_after(op: str, encode: Any) -> None:
    change = decode_change(encode(envelope(op, None, ROW)), encode(KEY))
    assert (change.op, change.key, change.row) == ("upsert", KEY, ROW)
    assert (change.ts_ms, change.position) == (1764583200000, 24023128)


def test_a_customer_row_becomes_a_profile_with_its_jsonb_notices_parsed() -> None:
    card, profile = customer_profile(
        decode_change(orjson.dumps(envelope("c", None, ROW)), None), {}
    )
    assert card == "card-1"
    assert profile is not None
    assert "email" not in profile  # unmapped columns never travel
    customer = Customer.model_validate(profile)
    assert customer.travel_notices[0].country == "FR"


def test_columns_named_otherwise_are_mapped() -> None:
    row = {"card": "card-9", "cust": "c9", "country": "DE", "notes": None}
    columns = {"card_id": "card", "customer_id": "cust", "home_country": "country",
               "travel_notices": "notes"}  # fmt: skip
    card, profile = customer_profile(decode_change(orjson.dumps(row), None), columns)
    assert (card, profile) == (
        "card-9",
        {"card_id": "card-9", "customer_id": "c9", "home_country": "DE"},
    )


def test_a_delete_and_its_tombstone_both_remove_the_profile() -> None:
    deleted = decode_change(with_schema(envelope("d", KEY, None)), with_schema(KEY))
    tombstone = decode_change(None, with_schema(KEY))
    assert customer_profile(deleted, {}) == ("card-1", None)
    assert customer_profile(tombstone, {}) == ("card-1", None)


def test_the_flattened_form_and_its_rewritten_deletes() -> None:
    upsert = decode_change(
        orjson.dumps({**ROW, "__op": "c", "__source_ts_ms": 5}), orjson.dumps(KEY)
    )
    assert (upsert.op, upsert.ts_ms, upsert.row) == ("upsert", 5, ROW)
    deleted = decode_change(orjson.dumps({**ROW, "__deleted": "true"}), orjson.dumps(KEY))
    assert deleted.op == "delete"


def test_a_document_row_becomes_a_kb_change_versioned_by_its_log_position() -> None:
    row = {"doc_id": "refunds", "title": "Refunds", "text": "Within 30 days.", "url": None}
    event = kb_change(decode_change(orjson.dumps(envelope("u", None, row)), None), {}, 0)
    change = KbChange.model_validate(event)
    assert (change.op, change.version, change.title, change.url) == (
        "upsert",
        24023128,
        "Refunds",
        None,
    )
    assert change.ts.isoformat() == "2025-12-01T10:00:00+00:00"
    gone = kb_change(
        decode_change(orjson.dumps(envelope("d", {"doc_id": "refunds"}, None)), None), {}, 0
    )
    assert KbChange.model_validate(gone).op == "delete"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (orjson.dumps(envelope("u", None, None)), "after (in an update): the row is missing"),
        (orjson.dumps(envelope("x", None, ROW)), "unknown Debezium op 'x'"),
        (orjson.dumps(envelope("t", None, None)), "TRUNCATE"),
        (orjson.dumps(envelope(["c"], None, ROW)), "op: expected one of c, u, d, r as a string"),  # type: ignore[arg-type]
        (orjson.dumps({**envelope("c", None, ROW), "source": {"lsn": "24023128"}}), "source.lsn"),
        (orjson.dumps(envelope("c", None, [1, 2])), "expected the row as a JSON object"),
        (b"{not json", "not valid JSON"),
    ],
    ids=[
        "update-without-after",
        "unknown-op",
        "truncate",
        "op-not-a-string",
        "lsn-as-string",
        "row-not-object",
        "bad-json",
    ],
)
def test_a_malformed_event_is_poison_with_its_reason(value: bytes, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason.replace("(", r"\(").replace(")", r"\)")):
        decode_change(value, None)


def test_a_key_that_is_not_an_object_and_a_bad_jsonb_column_are_poison() -> None:
    with pytest.raises(PoisonMessage, match="primary key columns"):
        decode_key(b'"card-1"')
    bad = decode_change(orjson.dumps({**ROW, "travel_notices": "[{"}), None)
    with pytest.raises(PoisonMessage, match="column 'travel_notices' is not valid JSON"):
        customer_profile(bad, {})


CAPTURED = Path(__file__).parent / "fixtures" / "debezium_pg_customers.json"
"""What Debezium 3.6.1.Final's PostgreSQL connector wrote (Kafka Connect 4.1.1, JsonConverter
defaults, pgoutput) for a snapshot of one row with a JSONB notice column, an update of
the notices, a delete and its tombstone: keys and values byte for byte."""


def test_what_the_real_connector_wrote_decodes_to_profile_then_its_removal() -> None:
    records = orjson.loads(CAPTURED.read_bytes())
    changes = [
        decode_change(r["value"].encode() if r["value"] else None, r["key"].encode())
        for r in records
    ]
    profiles = [customer_profile(change, {}) for change in changes]
    assert [change.op for change in changes] == ["upsert", "upsert", "delete", "delete"]
    first, updated = (Customer.model_validate(p) for _, p in profiles[:2] if p is not None)
    assert [n.country for n in first.travel_notices] == ["FR"]
    assert updated.travel_notices == []
    assert profiles[2:] == [("card-1", None), ("card-1", None)]
    positions = [change.position for change in changes[:3]]
    assert positions == sorted(positions)


def test_a_large_column_debezium_could_not_read_is_poison_naming_the_fix() -> None:
    # what the real connector sent for a title-only update of a document whose 3,000-word
    # body PostgreSQL keeps TOASTed (REPLICA IDENTITY DEFAULT)
    row = {"doc_id": "refunds", "title": "Refunds and returns", "text": UNAVAILABLE}
    change = decode_change(orjson.dumps(envelope("u", None, row)), None)
    with pytest.raises(PoisonMessage, match="REPLICA IDENTITY FULL"):
        kb_change(change, {}, 0)
    # a delete needs only the id: what Debezium could not read of the rest does not matter
    gone = decode_change(orjson.dumps({**row, "__deleted": "true", "__lsn": 7}), None)
    assert kb_change(gone, {}, 0)["op"] == "delete"
