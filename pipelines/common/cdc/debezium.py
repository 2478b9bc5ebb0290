"""Debezium's JSON output as row changes (pure): the envelope, the flattened form, tombstones.

What a Debezium source connector writes with Kafka Connect's ``JsonConverter``, as it is
configured out of the box or not, and with no SMT required of the user:

* the **envelope** ``{"before", "after", "op", "source", "ts_ms"}``, ``op`` one of
  ``c`` (insert), ``u`` (update), ``d`` (delete) and ``r`` (a snapshot read);
* the same wrapped as ``{"schema": ..., "payload": ...}`` when the converter's
  ``schemas.enable`` is on (its default), keys likewise;
* the **flattened** row of ``ExtractNewRecordState`` (``__deleted: "true"`` marks a
  delete when ``delete.handling.mode=rewrite``; ``__op`` and ``__source_ts_ms`` when the
  SMT adds them);
* **tombstones**: the null value that follows a delete, for log compaction.

A row change keeps the row as the database has it (column names, JSON columns still as
the strings Debezium makes of them); ``cdc.mapping`` turns it into a contract event.
Everything that is not one of these shapes raises ``PoisonMessage`` naming what is wrong,
so it reaches the dead-letter topic with its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from pipelines.common.serialization import PoisonMessage

RowOp = Literal["upsert", "delete"]

_UPSERTS = {"c": "an insert", "u": "an update", "r": "a snapshot read"}
_NOT_ROW_CHANGES = {
    "t": "a TRUNCATE of the table (Debezium op 't'): not applied row by row; re-snapshot "
    "the table or delete its rows instead",
    "m": "a logical decoding message (Debezium op 'm'), not a row change",
}


@dataclass(frozen=True)
class RowChange:
    """One row's change as the database reported it."""

    op: RowOp
    key: dict[str, Any]
    """The row's primary key columns from the record key (empty if it had none)."""
    row: dict[str, Any]
    """The row after an upsert; for a delete, what is known of it (the key at least)."""
    ts_ms: int | None
    """When the database committed it (``source.ts_ms``), else when Debezium saw it."""
    position: int | None
    """The change's place in the database's log (PostgreSQL's LSN), increasing."""


def decode_key(raw: bytes | None) -> dict[str, Any]:
    """The record key Debezium writes: the primary key as a JSON object, schema or not."""
    if raw is None:
        return {}
    key = _unwrap(parse_json(raw, "the record key"))
    if not isinstance(key, dict):
        msg = f"a Debezium key is a JSON object of the primary key columns, got {raw[:60]!r}"
        raise PoisonMessage(msg)
    return key


def decode_change(value: bytes | None, key: bytes | None) -> RowChange:
    """The row change in one Debezium record (envelope, flattened row or tombstone)."""
    row_key = decode_key(key)
    if value is None:
        if not row_key:
            raise PoisonMessage("a tombstone without a key: no row to delete")
        return RowChange("delete", row_key, dict(row_key), None, None)
    payload = _unwrap(parse_json(value, "the record value"))
    if not isinstance(payload, dict):
        msg = f"a Debezium value is a JSON object, got {value[:60]!r}"
        raise PoisonMessage(msg)
    if _is_envelope(payload):
        return _from_envelope(payload, row_key)
    return _from_flattened(payload, row_key)


def parse_json(raw: bytes | str, what: str) -> Any:
    """``raw`` parsed, or ``PoisonMessage`` saying that ``what`` is not valid JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        msg = f"{what} is not valid JSON: {exc}; it begins {raw[:60]!r}"
        raise PoisonMessage(msg) from exc


def _unwrap(data: Any) -> Any:
    """The payload of ``{"schema", "payload"}`` (``schemas.enable=true``), else ``data``."""
    if isinstance(data, dict) and data.keys() == {"schema", "payload"}:
        return data["payload"]
    return data


def _is_envelope(payload: dict[str, Any]) -> bool:
    return "op" in payload and ("after" in payload or "before" in payload)


def _from_envelope(payload: dict[str, Any], row_key: dict[str, Any]) -> RowChange:
    op = payload["op"]
    source = payload.get("source")
    source = source if isinstance(source, dict) else {}
    ts_ms = _int_or_none(source.get("ts_ms"), "source.ts_ms") or _int_or_none(
        payload.get("ts_ms"), "ts_ms"
    )
    position = _int_or_none(source.get("lsn"), "source.lsn")
    if not isinstance(op, str):
        msg = f"op: expected one of c, u, d, r as a string, got {op!r:.40}"
        raise PoisonMessage(msg)
    if op in _NOT_ROW_CHANGES:
        raise PoisonMessage(_NOT_ROW_CHANGES[op])
    if op == "d":
        known = {**(_row(payload.get("before"), "before") or {}), **row_key}
        if not known:
            raise PoisonMessage("a delete (op 'd') with neither a key nor 'before': no row")
        return RowChange("delete", row_key, known, ts_ms, position)
    if op not in _UPSERTS:
        msg = f"unknown Debezium op {op!r}: expected one of c, u, d, r (or t, m)"
        raise PoisonMessage(msg)
    where = f"after (in {_UPSERTS[op]})"
    after = _row(payload.get("after"), where)
    if after is None:
        msg = f"{where}: the row is missing (null); Debezium always sends it"
        raise PoisonMessage(msg)
    return RowChange("upsert", row_key, after, ts_ms, position)


def _from_flattened(row: dict[str, Any], row_key: dict[str, Any]) -> RowChange:
    """``ExtractNewRecordState``'s row; its ``__`` fields are metadata, not columns."""
    deleted = str(row.get("__deleted", "false")).lower() == "true" or row.get("__op") == "d"
    ts_ms = _int_or_none(row.get("__source_ts_ms", row.get("__ts_ms")), "__source_ts_ms")
    position = _int_or_none(row.get("__lsn"), "__lsn")
    columns = {name: v for name, v in row.items() if not name.startswith("__")}
    op: RowOp = "delete" if deleted else "upsert"
    return RowChange(op, row_key, {**columns, **row_key}, ts_ms, position)


def _row(value: Any, where: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        msg = f"{where}: expected the row as a JSON object, got {type(value).__name__}"
        raise PoisonMessage(msg)
    return value


def _int_or_none(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{where}: expected an integer, got {value!r:.40}"
        raise PoisonMessage(msg)
    return int(value)
