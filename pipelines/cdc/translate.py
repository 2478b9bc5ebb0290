"""One Debezium record as the contract record it stands for (pure): key, value, event time.

``customers``: an inserted, updated or snapshot-read row is the card's profile, validated
as a ``Customer``; a deleted row (the delete event, or the tombstone that follows it, which
is all the flattened form may send) is a tombstone for the card, which the compacted topic
and the pipelines' profile joins take as "no profile any more".

``kb-changes``: a row is an upsert of its document, a deleted row an ``op: delete`` event,
both versioned (the row's version column, else the change's log position). Debezium's
tombstone after a delete carries no version, and the delete event before it has already
removed the document, so it translates to nothing.

Either way the record's time is when the database committed the change, so a profile
takes effect for the transactions that follow the commit, not from when we read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from pipelines.common.cdc.debezium import decode_change
from pipelines.common.cdc.mapping import customer_profile, kb_change
from pipelines.common.epoch import to_ms
from pipelines.common.events import Customer, Event, KbChange
from pipelines.common.serialization import KeyedRecord, PoisonMessage, describe_validation_error

E = TypeVar("E", bound=Event)


def customer_record(
    value: bytes | None, key: bytes | None, columns: Mapping[str, str], record_ts_ms: int
) -> KeyedRecord:
    """The ``customers`` record for one record of the connector's customers topic."""
    change = decode_change(value, key)
    card_id, profile = customer_profile(change, columns)
    ts_ms = change.ts_ms if change.ts_ms is not None else record_ts_ms
    if profile is None:
        return KeyedRecord(card_id, None, ts_ms)
    customer = _valid(Customer, profile, change.row, "STREAMWISE_CDC_CUSTOMERS_COLUMNS")
    return KeyedRecord(card_id, customer.to_json_dict(), ts_ms)


def kb_record(
    value: bytes | None, key: bytes | None, columns: Mapping[str, str], record_ts_ms: int
) -> KeyedRecord | None:
    """The ``kb-changes`` record for one record of the connector's documents topic, if any."""
    if value is None:
        decode_change(value, key)  # a tombstone without a key is still poison
        return None
    row_change = decode_change(value, key)
    event = kb_change(row_change, columns, record_ts_ms)
    change = _valid(KbChange, event, row_change.row, "STREAMWISE_CDC_KB_COLUMNS")
    return KeyedRecord(change.doc_id, change.to_json_dict(), to_ms(change.ts))


def _valid(model: type[E], fields: dict[str, Any], row: Mapping[str, Any], setting: str) -> E:
    """``fields`` as a ``model``, or ``PoisonMessage`` naming what is wrong and the row's columns.

    A field missing from a row is most often a column named otherwise: the reason lists
    the columns the row has and the setting that maps them.
    """
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        columns = ", ".join(sorted(row)) or "none"
        reason = describe_validation_error(model, exc)
        msg = f"{reason} (the row's columns: {columns}; {setting} maps fields to columns)"
        raise PoisonMessage(msg) from exc
