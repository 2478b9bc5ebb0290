"""Wire format: UTF-8 JSON with orjson, validated against the contract on the way in.

Input topics deserialize straight into the topic's event model, keeping the
original bytes on the instance so that a later failure can still send exactly
what arrived to the dead-letter topic. Anything that is not valid JSON, not an
object, or not a valid event raises ``PoisonMessage`` with a reason a person can act on.
So does an unknown field that looks like a field the event lacks (``travel_notice``
for ``travel_notices``): kept as an extra, its meaning would be lost. Other near
misses are kept and reported (``near_miss``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from quixstreams.models.serializers import (
    Deserializer,
    SerializationContext,
    Serializer,
)

from pipelines.common.events import Event, KbChange
from pipelines.common.near_miss import NearMiss, near_misses

logger = logging.getLogger(__name__)

_RAW_ATTR = "__streamwise_raw__"
_MAX_WARNED = 1000
"""Distinct (topic, field) near misses a deserializer logs; past that it stays quiet."""

E = TypeVar("E", bound=Event)


class PoisonMessage(ValueError):
    """A message that can never be processed as it is: it belongs in the dead-letter topic."""


def decode_event(
    model: type[E], raw: bytes, on_near_miss: Callable[[NearMiss], None] | None = None
) -> E:
    """Parse and validate ``raw`` as ``model``; keep ``raw`` on the instance.

    Unknown fields that look like a field the event lacks make it poison; the
    other near misses are kept and passed to ``on_near_miss`` for the caller to report.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc}; first bytes {raw[:60]!r}"
        raise PoisonMessage(msg) from exc
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {type(data).__name__}: {raw[:60]!r}"
        raise PoisonMessage(msg)
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        hints = _lost_meanings(near_misses(model, data))
        raise PoisonMessage("; ".join([describe_validation_error(model, exc), *hints])) from exc
    misses = near_misses(model, data)
    if lost := _lost_meanings(misses):
        raise PoisonMessage(f"invalid {model.__name__}: " + "; ".join(lost))
    if on_near_miss is not None:
        for miss in misses:
            on_near_miss(miss)
    object.__setattr__(event, _RAW_ATTR, raw)
    return event


def _lost_meanings(misses: list[NearMiss]) -> list[str]:
    """The near misses that stand for a field the event lacks, described for a person."""
    return [miss.describe() for miss in misses if miss.lost]


def original_bytes(value: object) -> bytes | None:
    """The bytes an event was decoded from, if it came from ``decode_event``."""
    raw = getattr(value, _RAW_ATTR, None)
    return raw if isinstance(raw, bytes) else None


def describe_validation_error(model: type[BaseModel], exc: ValidationError) -> str:
    """One line: which fields are wrong and why, quoting the bad values."""
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "(event)"
        problem = f"{where}: {error['msg']}"
        if error["type"] != "missing":
            problem += f" (got {error.get('input')!r:.60})"
        problems.append(problem)
    more = f"; and {exc.error_count() - 5} more" if exc.error_count() > 5 else ""
    return f"invalid {model.__name__}: " + "; ".join(problems) + more


def encode_json(value: Any) -> bytes:
    """Events in their wire form, anything else as orjson encodes it (datetimes as ISO)."""
    if isinstance(value, Event):
        value = value.to_json_dict()
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


# What a tombstone would mean on a topic that does not take it as a delete, and what to do.
_TOMBSTONE_HINTS: dict[type[Event], str] = {
    KbChange: "to remove a document, send an event with op 'delete' for its doc_id",
}


class EventDeserializer(Deserializer):
    """Quix deserializer for an input topic: bytes -> validated ``Event`` (or ``PoisonMessage``)."""

    def __init__(self, model: type[Event], *, tombstone_deletes: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._model = model
        self._tombstone_deletes = tombstone_deletes
        self._warned: set[tuple[str, str]] = set()

    def __call__(self, value: bytes, ctx: SerializationContext) -> Event:
        return decode_event(self._model, value, lambda miss: self._warn_once(ctx.topic, miss))

    def refuse_empty(self, value: object) -> None:
        """Raise ``PoisonMessage`` for a null value (a tombstone), unless it means a delete.

        Quix hands a null value to the dataflow as ``None`` without calling the
        deserializer, where the first step would fail with an ``AttributeError``
        nobody can act on; ``StreamwiseApplication`` calls this first instead. On a
        topic whose tombstones delete (``customers``: the card's profile is gone) the
        ``None`` goes on, for the flow to take as "no value any more".
        """
        if value is None and not self._tombstone_deletes:
            reason = f"empty value (a tombstone): {self._model.__name__} needs a JSON object"
            hint = _TOMBSTONE_HINTS.get(self._model)
            raise PoisonMessage(f"{reason}; {hint}" if hint else reason)

    def _warn_once(self, topic: str, miss: NearMiss) -> None:
        """Log a kept near miss once per (topic, field): one bad producer must not flood the log."""
        if (topic, miss.path) in self._warned or len(self._warned) >= _MAX_WARNED:
            return
        self._warned.add((topic, miss.path))
        logger.warning("%s: %s", topic, miss.warning())


@dataclass(frozen=True)
class KeyedRecord:
    """An output record that names its own key and time; a ``None`` value is a tombstone.

    For flows whose output key and time are not the input's and may come with no value
    to derive them from (a deleted row is a tombstone for its key).
    """

    key: str
    value: dict[str, Any] | None
    ts_ms: int


class KeyedRecordSerializer(Serializer):
    """Quix serializer for ``KeyedRecord`` streams: the value as JSON, a tombstone as null."""

    def __call__(self, value: KeyedRecord, ctx: SerializationContext) -> bytes | None:  # type: ignore[override]
        return None if value.value is None else encode_json(value.value)


class JsonSerializer(Serializer):
    """Quix serializer for output topics: events and plain JSON values via orjson."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        return encode_json(value)


class KeySerializer(Serializer):
    """Keys are UTF-8 strings on the wire; bytes pass through unchanged."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        if isinstance(value, bytes):
            return value
        return str(value).encode()


class OriginalBytesSerializer(Serializer):
    """Repartition values as the producer sent them (re-encoded only if they were not read)."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        raw = original_bytes(value)
        return raw if raw is not None else encode_json(value)
