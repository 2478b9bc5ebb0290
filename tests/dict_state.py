"""A dict-backed stand-in for Quix ``State``, for testing rules without a broker.

Values round-trip through JSON, as they do through orjson in RocksDB, so a value
Quix could not store fails here too. Every write is logged with its TTL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from quixstreams.state.base import State


class DictState(State[str, Any]):
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes: list[tuple[str, timedelta | None]] = []

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, ttl: timedelta | None = None) -> None:
        self.values[key] = json.dumps(value)
        self.writes.append((key, ttl))

    def set_bytes(self, key: str, value: bytes, ttl: timedelta | None = None) -> None:
        self.set(key, value.decode(), ttl=ttl)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.values
