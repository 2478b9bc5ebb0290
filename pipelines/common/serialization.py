"""Wire format: UTF-8 JSON with orjson, validated against the contract on the way in.

Input topics deserialize straight into the topic's event model, keeping the
original bytes on the instance so that a later failure can still send exactly
what arrived to the dead-letter topic. Anything that is not valid JSON, not an
object, or not a valid event raises ``PoisonMessage`` with a reason a person can act on.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from quixstreams.models.serializers import (
    Deserializer,
    SerializationContext,
    Serializer,
)

from pipelines.common.events import Event

_RAW_ATTR = "__streamwise_raw__"

E = TypeVar("E", bound=Event)


class PoisonMessage(ValueError):
    """A message that can never be processed as it is: it belongs in the dead-letter topic."""


def decode_event(model: type[E], raw: bytes) -> E:
    """Parse and validate ``raw`` as ``model``; keep ``raw`` on the instance."""
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
        raise PoisonMessage(describe_validation_error(model, exc)) from exc
    object.__setattr__(event, _RAW_ATTR, raw)
    return event


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


class EventDeserializer(Deserializer):
    """Quix deserializer for an input topic: bytes -> validated ``Event`` (or ``PoisonMessage``)."""

    def __init__(self, model: type[Event]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._model = model

    def __call__(self, value: bytes, ctx: SerializationContext) -> Event:
        return decode_event(self._model, value)


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
