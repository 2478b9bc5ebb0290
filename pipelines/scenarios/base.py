"""What a pipeline contributes to ``streamwise demo``: events to send, outputs worth showing.

Each pipeline family has a module here (``scenarios/fraud.py``, ...) with a
``scenario(settings)`` factory returning a ``Scenario``; demo data stays out of the
pipeline packages. The demo runs the scenario's pipelines as real processes, sends its
seed events, then its timed stream, and renders what arrives on the watched topics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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
