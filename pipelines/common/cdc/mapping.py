"""Database rows as contract events (pure): which column holds which field, and JSON columns.

A user's tables need not be named as our fields: ``columns`` maps a contract field to
the column that holds it, and a field left out is read from the column of its own name.
Only mapped fields are taken from the row, so a table's other columns (names, e-mail
addresses) never travel into the pipelines. PostgreSQL ``json``/``jsonb`` columns arrive
from Debezium as strings (its ``io.debezium.data.Json``) and are parsed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.common.cdc.debezium import RowChange, parse_json
from pipelines.common.serialization import PoisonMessage

UNAVAILABLE = "__debezium_unavailable_value"
"""What Debezium writes for a large (TOASTed) column an UPDATE left unchanged, when the
table's REPLICA IDENTITY is not FULL: PostgreSQL does not log the old value. Seen from the
real connector: a title-only update of a document sends this as its text."""

CUSTOMER_FIELDS = ("card_id", "customer_id", "home_country", "travel_notices", "risk_tier")
KB_FIELDS = ("doc_id", "version", "title", "text", "source", "url")


def customer_profile(
    change: RowChange, columns: Mapping[str, str]
) -> tuple[str, dict[str, Any] | None]:
    """``(card_id, profile)`` for a customer row's change; a deleted row gives ``None``."""
    fields = _fields(change, CUSTOMER_FIELDS, columns)
    card_id = _identity(fields, "card_id", columns, change)
    if change.op == "delete":
        return card_id, None
    notices = fields.get("travel_notices")
    if isinstance(notices, str):
        column = columns.get("travel_notices", "travel_notices")
        fields["travel_notices"] = parse_json(notices, f"column {column!r}")
    elif notices is None:
        fields.pop("travel_notices", None)
    if fields.get("risk_tier") is None:
        fields.pop("risk_tier", None)
    return card_id, fields


def kb_change(change: RowChange, columns: Mapping[str, str], record_ts_ms: int) -> dict[str, Any]:
    """A ``kb-changes`` event for a document row's change.

    ``ts`` is when the database committed the change, or the record's own timestamp
    (``record_ts_ms``) when the flattened form left the commit time out.

    ``version`` is the row's version column when the table has one, else the change's
    place in the database's log (PostgreSQL's LSN), which increases with every commit:
    either way a later change of a document carries a higher version.
    """
    fields = _fields(change, KB_FIELDS, columns)
    doc_id = _identity(fields, "doc_id", columns, change)
    version = fields.get("version", change.position)
    if version is None:
        msg = "no version: the row has no version column and the change no log position (lsn)"
        raise PoisonMessage(msg)
    ts_ms = change.ts_ms if change.ts_ms is not None else record_ts_ms
    ts = datetime.fromtimestamp(ts_ms / 1000, UTC)
    event: dict[str, Any] = {"doc_id": doc_id, "version": version, "ts": ts}
    if change.op == "delete":
        return {**event, "op": "delete"}
    content = {k: v for k, v in fields.items() if k not in event and v is not None}
    return {**event, "op": "upsert", **content}


def _fields(
    change: RowChange, names: tuple[str, ...], columns: Mapping[str, str]
) -> dict[str, Any]:
    """The contract fields ``names`` read from the changed row through the column mapping.

    In an upsert, a column Debezium could not read (``UNAVAILABLE``) is poison: taken as
    the value, it would replace a document's text with the placeholder. A delete needs
    only the row's id.
    """
    row = change.row
    fields = {
        name: row[columns.get(name, name)] for name in names if columns.get(name, name) in row
    }
    missing = [columns.get(name, name) for name, value in fields.items() if value == UNAVAILABLE]
    if missing and change.op == "upsert":
        msg = (
            f"Debezium could not read column(s) {', '.join(missing)} (an UPDATE left a large "
            "value unchanged, and PostgreSQL logs only changed TOASTed values): run "
            "ALTER TABLE ... REPLICA IDENTITY FULL on the table so every change carries them"
        )
        raise PoisonMessage(msg)
    return fields


def _identity(fields: Mapping[str, Any], name: str, columns: Mapping[str, str],
              change: RowChange) -> str:  # fmt: skip
    """The row's id field ``name`` (the event's key), or ``PoisonMessage`` naming the column."""
    value = fields.get(name)
    if value is None or value == "":
        column, present = columns.get(name, name), ", ".join(sorted(change.row)) or "none"
        msg = f"the row has no value in column {column!r} (the {name}); columns: {present}"
        if change.op == "delete":
            msg += (
                "; a delete carries only the primary key unless the table has REPLICA "
                "IDENTITY FULL (ALTER TABLE ... REPLICA IDENTITY FULL)"
            )
        raise PoisonMessage(msg)
    return str(value)
