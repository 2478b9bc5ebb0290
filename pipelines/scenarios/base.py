"""What a pipeline contributes to ``streamwise demo``: events to send, outputs worth showing.

Each pipeline family has a module here (``scenarios/fraud.py``, ...) with a
``scenario(settings)`` factory returning a ``Scenario``; demo data stays out of the
pipeline packages. The demo runs the scenario's pipelines as real processes, sends its
seed events, then its timed stream, and renders what arrives on the watched topics.

A scenario with people in the loop (analysts, support agents) also ``Reacts``: it reads
every watched record and sends events of its own later, and may keep the demo draining
while it waits for an answer to them (for a bounded time of its own choosing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Send:
    """One event to produce: to ``topic`` (unprefixed contract name), ``at_s`` after start."""

    topic: str
    key: str
    value: dict[str, Any]
    at_s: float = 0.0
    timestamp_ms: int | None = None  # Kafka timestamp; None: when it is sent


# Turns one output record (decoded JSON) into a line for the live view, or None to skip it.
Render = Callable[[dict[str, Any]], str | None]


class Scenario(Protocol):
    title: str
    pipelines: Sequence[str]  # names from pipelines.registry, started before anything is sent
    watch: dict[str, Render]  # output topic -> how to show its records

    def events(self, seconds: float) -> Iterator[Send]:
        """Seed events first (``at_s=0``), then the stream, in ``at_s`` order."""
        ...

    def summary(self, outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
        """Closing lines from everything that arrived on the watched topics."""
        ...


@runtime_checkable
class Reacts(Protocol):
    """A scenario whose simulated people answer outputs with events of their own.

    Times are seconds since the stream started; a ``Send``'s ``at_s`` is when to send it.
    """

    pipeline_env: Mapping[str, str]  # extra environment for the demo's pipeline processes

    def react(self, topic: str, record: dict[str, Any], now_s: float) -> list[Send]:
        """What the scenario's people send after reading ``record`` on ``topic``."""
        ...

    def tick(self, now_s: float) -> list[Send]:
        """What they send because time passed (called on every turn of the demo's loop)."""
        ...

    def waiting(self, now_s: float) -> str | None:
        """What the scenario still waits for (keeps the demo draining), or None."""
        ...
