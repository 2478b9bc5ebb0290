"""Contract events as rows of analytics tables: column types from the event models, each
value checked against its column, and a table's schema widened by fields it has not seen.

Pure: no catalog, no broker, no clock. ``iceberg.py`` writes what this module produces.

Types, chosen for what SQL over the tables does best:

- a field the contract defines gets its type from the event model: timestamps are
  ``timestamp[us, UTC]`` columns, numbers ``bigint``/``double``, lists of strings
  ``list<string>`` (``unnest(reasons)``, ``list_contains``), nested objects structs
  (``"from".country``), lists of objects lists of structs (``citations``), counts by
  name ``map<string, bigint>`` (``sentiment_counts['negative']``);
- a list or object whose shape the contract leaves open (``top_categories``, ``list[Any]``)
  and any list or object in a field the contract does not define is JSON text
  (``top_categories->>'$[0].category'``): such values differ from record to record, and
  a struct inferred from the first record would refuse the next;
- a field the contract does not define (producers may add fields) becomes a new nullable
  column on first sight, typed by its JSON value: boolean, bigint, double or string. Rows
  written before read null there. A later value that does not fit the column's type
  (``0.5`` in a bigint column, ``"x"`` in a double one) is ``Unfit``: poison for the
  dead-letter topic, not a silent cast.

Every table also gets three columns of its own: ``_day`` (the UTC day of the record's
event time, the partition), ``_kafka_partition`` and ``_kafka_offset`` (where it came from).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
import pyarrow as pa
from pydantic import AwareDatetime, BaseModel, NaiveDatetime

from pipelines.common.epoch import from_ms

DAY = "_day"
PARTITION = "_kafka_partition"
OFFSET = "_kafka_offset"
PROVENANCE = pa.schema([
    pa.field(DAY, pa.date32()),
    pa.field(PARTITION, pa.int32()),
    pa.field(OFFSET, pa.int64()),
])  # fmt: skip
"""The lake's own columns, after the record's fields."""

EVENT_TIME_FIELDS = ("ts", "window_start")
"""A record's event time, in order of preference; without one, its Kafka timestamp."""

TIMESTAMP = pa.timestamp("us", tz="UTC")
JSON_TEXT = pa.string()
_INT64 = (-(2**63), 2**63 - 1)
_DATETIMES = (datetime, AwareDatetime, NaiveDatetime)


class Unfit(ValueError):
    """A value its column cannot hold: the record is poison, its neighbours go on."""


@dataclass(frozen=True)
class LakeRow:
    """One record as a row of ``table``; ``raw`` keeps the bytes it came as (dead letters)."""

    table: str
    values: dict[str, Any]
    raw: bytes | None = None


def table_name(topic: str) -> str:
    """The table of a topic: its name with ``-`` as ``_`` (``fraud-alerts``: ``fraud_alerts``)."""
    return topic.replace("-", "_")


def arrow_type(annotation: Any) -> pa.DataType:
    """The column type of a model field's annotation (see the module docstring)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return arrow_type(args[0])
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        return arrow_type(present[0]) if len(present) == 1 else JSON_TEXT
    if origin is Literal:
        return _scalar_type(args[0])
    if origin is list:
        return pa.list_(arrow_type(args[0])) if args and args[0] is not Any else JSON_TEXT
    if origin is dict:
        if len(args) == 2 and args[0] is str and args[1] is not Any:
            value = arrow_type(args[1])
            if not pa.types.is_nested(value):
                return pa.map_(pa.string(), value)
        return JSON_TEXT
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pa.struct(list(model_schema(annotation)))
    if annotation in _DATETIMES:
        return TIMESTAMP
    if annotation is date:
        return pa.date32()
    if annotation is Any:
        return JSON_TEXT
    return _scalar_type(annotation)


def _scalar_type(annotation: Any) -> pa.DataType:
    if isinstance(annotation, bool) or annotation is bool:
        return pa.bool_()
    if isinstance(annotation, int) or annotation is int:
        return pa.int64()
    if isinstance(annotation, float) or annotation is float:
        return pa.float64()
    if isinstance(annotation, str) or annotation is str:
        return pa.string()
    msg = f"no column type for {annotation!r}"
    raise TypeError(msg)


def model_schema(model: type[BaseModel]) -> pa.Schema:
    """The columns of a model's fields, by their contract names (aliases: ``from``)."""
    return pa.schema([
        pa.field(field.alias or name, arrow_type(field.annotation))
        for name, field in model.model_fields.items()
    ])  # fmt: skip


def table_schema(model: type[BaseModel]) -> pa.Schema:
    """A new table's schema: the model's fields, then the lake's own columns."""
    return pa.schema([*model_schema(model), *PROVENANCE])


def infer_type(value: Any) -> pa.DataType | None:
    """The column type a field the contract does not define gets from its first value."""
    if value is None:
        return None  # nothing to learn from a null: the column waits for a value
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    return pa.string()  # strings, and lists and objects as JSON text


def event_day(record: Mapping[str, Any], timestamp_ms: int) -> date:
    """The UTC day a record belongs to: its event time, else its Kafka timestamp."""
    for name in EVENT_TIME_FIELDS:
        value = record.get(name)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).date()
    return from_ms(timestamp_ms).date()


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS).decode()


def fit(value: Any, type_: pa.DataType, where: str) -> tuple[Any, pa.DataType]:
    """``value`` as a column of ``type_`` holds it, and ``type_`` widened by any new field
    of a struct (a nested object the contract defines, with a field it does not).

    Raises ``Unfit`` naming ``where`` (the column's path) and the value.
    """
    if value is None:
        return None, type_
    if pa.types.is_struct(type_):
        return _fit_struct(value, type_, where)
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return _fit_list(value, type_, where)
    if pa.types.is_map(type_):
        if not isinstance(value, dict):
            raise _unfit(value, type_, where)
        item = type_.item_type
        return [(str(k), fit(v, item, f"{where}[{k!r}]")[0]) for k, v in value.items()], type_
    return _fit_scalar(value, type_, where), type_


_NO = object()
"""What a converter below returns for a value its type cannot hold."""


def _as_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return json_text(value) if isinstance(value, list | dict) else _NO


def _as_bool(value: Any) -> Any:
    return value if isinstance(value, bool) else _NO


def _as_int(value: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else _NO


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else _NO


def _as_timestamp(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else _NO


def _as_date(value: Any) -> Any:
    return value if isinstance(value, date) and not isinstance(value, datetime) else _NO


def _is_text(type_: pa.DataType) -> bool:
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))


_SCALARS: tuple[tuple[Callable[[pa.DataType], bool], Callable[[Any], Any]], ...] = (
    (_is_text, _as_string),
    (pa.types.is_boolean, _as_bool),
    (pa.types.is_integer, _as_int),
    (pa.types.is_floating, _as_float),
    (pa.types.is_timestamp, _as_timestamp),
    (pa.types.is_date, _as_date),
)


def _fit_scalar(value: Any, type_: pa.DataType, where: str) -> Any:
    for matches, convert in _SCALARS:
        if matches(type_):
            converted = convert(value)
            if converted is _NO:
                raise _unfit(value, type_, where)
            if convert is _as_int and not _INT64[0] <= converted <= _INT64[1]:
                msg = f"{where}: {value!r} is out of the 64-bit integer range"
                raise Unfit(msg)
            return converted
    msg = f"{where}: no conversion to column type {type_}"
    raise TypeError(msg)


def _fit_list(value: Any, type_: pa.DataType, where: str) -> tuple[Any, pa.DataType]:
    if not isinstance(value, list):
        raise _unfit(value, type_, where)
    item = type_.value_type
    items = []
    for index, element in enumerate(value):
        converted, item = fit(element, item, f"{where}[{index}]")
        items.append(converted)
    widened = type_ if item == type_.value_type else pa.list_(item)
    return items, widened


def _fit_struct(value: Any, type_: pa.StructType, where: str) -> tuple[Any, pa.DataType]:
    if not isinstance(value, dict):
        raise _unfit(value, type_, where)
    fields = {type_.field(i).name: type_.field(i) for i in range(type_.num_fields)}
    converted, changed = _fit_fields(value, fields, where)
    widened = pa.struct(list(fields.values())) if changed else type_
    return converted, widened


def _fit_fields(
    record: Mapping[str, Any], fields: dict[str, pa.Field], where: str
) -> tuple[dict[str, Any], bool]:
    """Each value of ``record`` fitted to ``fields`` (widened in place); whether they changed."""
    converted: dict[str, Any] = {}
    changed = False
    by_lower = {name.lower(): name for name in fields}
    for name, value in record.items():
        path = f"{where}.{name}" if where else name
        field = fields.get(name)
        if field is None:
            if not name:
                msg = f"{where or 'record'}: a field with an empty name has no column"
                raise Unfit(msg)
            if name.lower() in by_lower:
                msg = (f"{path}: SQL does not tell it from the column "
                       f"{by_lower[name.lower()]!r} (names are case-insensitive)")  # fmt: skip
                raise Unfit(msg)
            inferred = infer_type(value)
            if inferred is None:
                continue  # a null in a field never seen: nothing to store
            converted[name], type_ = fit(value, inferred, path)
            fields[name] = pa.field(name, type_)
            by_lower[name.lower()] = name
            changed = True
            continue
        converted[name], type_ = fit(value, field.type, path)
        if type_ != field.type:
            fields[name] = field.with_type(type_)
            changed = True
    return converted, changed


def _unfit(value: Any, type_: pa.DataType, where: str) -> Unfit:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return Unfit(f"{where}: the column holds {_type_name(type_)}; got {shown}")


def _type_name(type_: pa.DataType) -> str:
    if _is_text(type_):
        return "string"
    return str(type_).replace("large_", "")


def to_row(
    record: Mapping[str, Any], schema: pa.Schema, day: date
) -> tuple[dict[str, Any], pa.Schema]:
    """``record`` as a row of a table with ``schema``, and the schema widened by its new fields
    (``schema`` itself if none). Raises ``Unfit`` for a value its column cannot hold."""
    for name in PROVENANCE.names:
        if name in record:
            msg = f"{name}: the lake adds a column of that name; the record may not carry it"
            raise Unfit(msg)
    fields = {field.name: field for field in schema}
    values, changed = _fit_fields(record, fields, "")
    values[DAY] = day
    return values, pa.schema(list(fields.values())) if changed else schema


def column_paths(schema: pa.Schema) -> set[str]:
    """Every column and nested field of ``schema``, as dotted paths (what a table lacks)."""
    paths: set[str] = set()

    def walk(prefix: str, type_: pa.DataType) -> None:
        if pa.types.is_struct(type_):
            for i in range(type_.num_fields):
                child = type_.field(i)
                paths.add(f"{prefix}.{child.name}")
                walk(f"{prefix}.{child.name}", child.type)
        elif pa.types.is_list(type_) or pa.types.is_large_list(type_):
            walk(f"{prefix}[]", type_.value_type)

    for field in schema:
        paths.add(field.name)
        walk(field.name, field.type)
    return paths


def lacks(table: pa.Schema, wanted: pa.Schema) -> Sequence[str]:
    """The columns and nested fields of ``wanted`` that ``table`` does not have, sorted."""
    return sorted(column_paths(wanted) - column_paths(table))
