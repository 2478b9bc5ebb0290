"""``streamwise produce``: validate JSON Lines against a topic's schema, key them, send them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from confluent_kafka import Producer

from pipelines.common.near_miss import NearMiss
from pipelines.common.serialization import PoisonMessage, decode_event
from pipelines.common.topics import TopicSpec


@dataclass
class ProduceReport:
    """What ``produce_lines`` did: how many sent, every rejected line with its reason, and
    every warning about a sent line (an unknown field that looks like a known one)."""

    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


def keyed_lines(
    topic: TopicSpec, lines: Iterable[str], warnings: list[tuple[int, str]] | None = None
) -> Iterator[tuple[int, bytes, bytes | str]]:
    """(line number, key, value bytes) for valid lines; ``(n, b"", reason)`` for invalid ones.

    Near misses of a valid line (kept, but likely a typo) are appended to ``warnings``.
    """
    for number, line in enumerate(lines, start=1):
        raw = line.strip().encode()
        if not raw:
            continue
        if topic.model is None:
            yield number, b"", raw
            continue
        near: list[NearMiss] = []
        try:
            event = decode_event(topic.model, raw, near.append)
        except PoisonMessage as exc:
            yield number, b"", str(exc)
            continue
        if warnings is not None:
            warnings.extend((number, miss.warning()) for miss in near)
        key = getattr(event, topic.key_field) if topic.key_field else None
        yield number, str(key).encode() if key is not None else b"", raw


def produce_lines(
    topic: TopicSpec, source: IO[str], producer_config: dict[str, Any]
) -> ProduceReport:
    """Send every valid line of ``source`` to ``topic``; the original bytes are sent as they are."""
    producer = Producer({**producer_config, "linger.ms": 20})
    report = ProduceReport()
    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for number, key, value in keyed_lines(topic, source, report.warnings):
        if isinstance(value, str):
            report.rejected.append((number, value))
            continue
        while True:
            try:
                producer.produce(topic.name, value=value, key=key or None, on_delivery=delivered)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.5)
        report.sent += 1
        producer.poll(0)
    if producer.flush(60) or failures:
        msg = f"not every message was delivered to {topic.name}: {failures[:3] or 'timed out'}"
        raise ConnectionError(msg)
    return report
