"""The schema book: the schema each lake table has or is about to have, and its rows
converted by a plan compiled from it.

``rows.to_row`` checks every value against its column's type by walking the type: general,
and slow (40 us per fraud alert, more than decoding and validating it). A plan is that walk
done once per schema: one small function per column. A record the plan cannot take as it
is (a field or nested field the schema lacks, a value its column cannot hold)
goes the general way, which widens the schema or says exactly what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from pipelines.common.sinks.rows import DAY, PROVENANCE, json_text, to_row

Convert = Callable[[Any], Any]
"""A value as its column holds it; raises ``_Slow`` for anything but the plain case."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class _Slow(Exception):
    """The record needs the general conversion (``rows.to_row``)."""


def _text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, list | dict):
        return json_text(value)
    raise _Slow


def _int(value: Any) -> Any:
    if value is None or (type(value) is int and _INT64_MIN <= value <= _INT64_MAX):
        return value
    raise _Slow


def _float(value: Any) -> Any:
    if value is None or type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _Slow


def _exactly(kind: type) -> Convert:
    """Values of exactly ``kind`` (not a subclass: ``True`` is no int, a datetime no date)."""

    def convert(value: Any) -> Any:
        if value is None or type(value) is kind:
            return value
        raise _Slow

    return convert


def _timestamp(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    raise _Slow


def _list(item: Convert) -> Convert:
    strings = item is _text

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not list:
            raise _Slow
        if strings and all(type(element) is str for element in value):
            return value
        return [item(element) for element in value]

    return convert


def _struct(fields: dict[str, Convert]) -> Convert:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict or not value.keys() <= fields.keys():
            raise _Slow
        return {name: fields[name](element) for name, element in value.items()}

    return convert


def _map(item: Convert) -> Convert:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict or not all(type(key) is str for key in value):
            raise _Slow
        return [(key, item(element)) for key, element in value.items()]

    return convert


def _general(value: Any) -> Any:
    raise _Slow


def compile_type(type_: pa.DataType) -> Convert:
    """The converter of values of a column of ``type_``."""
    if pa.types.is_struct(type_):
        return _struct({f.name: compile_type(f.type) for f in type_})
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return _list(compile_type(type_.value_type))
    if pa.types.is_map(type_):
        return _map(compile_type(type_.item_type))
    scalars: list[tuple[Callable[[pa.DataType], bool], Convert]] = [
        (pa.types.is_string, _text), (pa.types.is_large_string, _text),
        (pa.types.is_boolean, _exactly(bool)), (pa.types.is_integer, _int),
        (pa.types.is_floating, _float), (pa.types.is_timestamp, _timestamp),
        (pa.types.is_date, _exactly(date)),
    ]  # fmt: skip
    return next((convert for matches, convert in scalars if matches(type_)), _general)


Plan = dict[str, Convert]


def compile_plan(schema: pa.Schema) -> Plan:
    """One converter per column a record may carry (not the lake's own columns)."""
    return {f.name: compile_type(f.type) for f in schema if f.name not in PROVENANCE.names}


class SchemaBook:
    """The schema each table has, or will have once the rows converted so far are written.

    The conversion step widens it; the sink adds the new columns to the table before it
    writes, and resets a table's entry to what the catalog holds when another writer
    changed it. One per process, in the processing thread only.
    """

    def __init__(self, schemas: Mapping[str, pa.Schema] | None = None) -> None:
        self._schemas: dict[str, pa.Schema] = {}
        self._plans: dict[str, Plan] = {}
        for table, schema in (schemas or {}).items():
            self.set(table, schema)

    def schema(self, table: str) -> pa.Schema:
        return self._schemas[table]

    def set(self, table: str, schema: pa.Schema) -> None:
        self._schemas[table] = schema
        self._plans[table] = compile_plan(schema)

    def convert(self, table: str, record: Mapping[str, Any], day: date) -> dict[str, Any]:
        """``record`` as a row of ``table``; remembers the columns it added.

        Raises ``rows.Unfit`` for a value its column cannot hold.
        """
        plan = self._plans[table]
        try:
            values = {name: plan[name](value) for name, value in record.items()}
        except (_Slow, KeyError):
            values, schema = to_row(record, self._schemas[table], day)
            if schema is not self._schemas[table]:
                self.set(table, schema)
            return values
        values[DAY] = day
        return values
