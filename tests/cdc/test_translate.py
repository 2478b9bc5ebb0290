"""Debezium records as the contract records ``run cdc`` writes (pure: no broker)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pipelines.cdc.settings import CdcSettings
from pipelines.cdc.translate import customer_record, kb_record
from pipelines.common.serialization import KeyedRecord, PoisonMessage
from pipelines.common.settings import SettingsError, load_settings
from tests.processes import cli

COMMIT_MS = 1764583200000
SOURCE = {"connector": "postgresql", "ts_ms": COMMIT_MS, "lsn": 24023128}
ROW = {"card_id": "card-1", "customer_id": "cust-1", "home_country": "GB",
       "travel_notices": '[{"country": "FR", "from": "2026-12-01", "to": "2026-12-09"}]',
       "risk_tier": "standard"}  # fmt: skip
DOC = {"doc_id": "refunds", "title": "Refunds", "body": "Refunds take 30 days."}


def envelope(op: str, before: Any, after: Any) -> bytes:
    return orjson.dumps({"before": before, "after": after, "op": op, "source": SOURCE,
                         "ts_ms": COMMIT_MS + 90})  # fmt: skip


def key(**columns: str) -> bytes:
    return orjson.dumps(columns)


def test_a_customer_row_is_the_cards_profile_at_its_commit_time() -> None:
    record = customer_record(envelope("c", None, ROW), key(card_id="card-1"), {}, 0)
    assert record.key == "card-1"
    assert record.ts_ms == COMMIT_MS
    assert record.value is not None
    assert record.value["travel_notices"] == [
        {"country": "FR", "from": "2026-12-01", "to": "2026-12-09"}
    ]


def test_a_deleted_customer_row_and_its_tombstone_are_tombstones_for_the_card() -> None:
    deleted = customer_record(envelope("d", {"card_id": "card-1"}, None), key(card_id="card-1"),
                              {}, 0)  # fmt: skip
    tombstone = customer_record(None, key(card_id="card-1"), {}, 5)
    assert deleted == KeyedRecord("card-1", None, COMMIT_MS)
    assert tombstone == KeyedRecord("card-1", None, 5)  # no commit time: the record's


def test_columns_named_otherwise_are_mapped_and_a_bad_value_is_poison_naming_the_field() -> None:
    row = {"card_number": "card-9", "customer_id": "cust-9", "country": "GB"}
    mapped = customer_record(envelope("r", None, row), key(card_number="card-9"),
                             {"card_id": "card_number", "home_country": "country"}, 0)  # fmt: skip
    assert mapped.key == "card-9"
    assert mapped.value == {"card_id": "card-9", "customer_id": "cust-9", "home_country": "GB",
                            "travel_notices": [], "risk_tier": "standard"}  # fmt: skip
    with pytest.raises(PoisonMessage, match="invalid Customer: home_country"):
        customer_record(envelope("c", None, {**ROW, "home_country": "Britain"}), None, {}, 0)


def test_an_update_without_its_row_is_poison() -> None:
    with pytest.raises(PoisonMessage, match="after"):
        customer_record(envelope("u", None, None), key(card_id="card-1"), {}, 0)


def test_a_document_row_is_an_upsert_versioned_by_its_log_position() -> None:
    record = kb_record(envelope("u", None, DOC), key(doc_id="refunds"), {"text": "body"}, 0)
    assert record is not None
    assert record.key == "refunds"
    assert record.value is not None
    assert (record.value["op"], record.value["version"]) == ("upsert", 24023128)
    assert record.value["text"] == "Refunds take 30 days."


def test_a_deleted_document_is_a_versioned_delete_and_its_tombstone_is_nothing() -> None:
    deleted = kb_record(envelope("d", {"doc_id": "refunds"}, None), key(doc_id="refunds"), {}, 0)
    assert deleted is not None
    assert deleted.value is not None
    assert (deleted.value["op"], deleted.value["version"]) == ("delete", 24023128)
    assert kb_record(None, key(doc_id="refunds"), {}, 0) is None
    with pytest.raises(PoisonMessage, match="tombstone without a key"):
        kb_record(None, None, {}, 0)


def test_a_document_without_its_text_column_is_poison_naming_the_fix() -> None:
    with pytest.raises(
        PoisonMessage,
        match=r"needs both .title. and .text.*body, doc_id, title; STREAMWISE_CDC_KB_COLUMNS",
    ):
        kb_record(envelope("c", None, DOC), key(doc_id="refunds"), {}, 0)  # body not mapped


def test_the_settings_name_the_connector_topic_and_only_known_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STREAMWISE_CDC_CUSTOMERS", "debezium")
    with pytest.raises(SettingsError, match="needs STREAMWISE_CDC_CUSTOMERS_TOPIC"):
        load_settings(CdcSettings)
    monkeypatch.setenv("STREAMWISE_CDC_CUSTOMERS_TOPIC", "shop.public.customers")
    monkeypatch.setenv("STREAMWISE_CDC_CUSTOMERS_COLUMNS", "card_id=card_number, home=country")
    with pytest.raises(SettingsError, match="maps home, not fields of customers"):
        load_settings(CdcSettings)
    monkeypatch.setenv("STREAMWISE_CDC_CUSTOMERS_COLUMNS", "card_id=card_number")
    [source] = load_settings(CdcSettings).sources()
    assert (source.contract_topic, source.connector_topic) == ("customers", "shop.public.customers")
    assert source.columns == {"card_id": "card_number"}


def test_a_delete_without_the_card_column_names_replica_identity_full() -> None:
    with pytest.raises(PoisonMessage, match="REPLICA IDENTITY FULL"):
        customer_record(envelope("d", {"id": 7}, None), key(id="7"), {}, 0)


def test_run_cdc_with_nothing_to_translate_is_one_line_before_any_broker() -> None:
    done = cli("run", "cdc", env={"STREAMWISE_BROKER": "127.0.0.1:1"})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "set STREAMWISE_CDC_CUSTOMERS=debezium" in line
