"""Test helpers to talk to the real broker: produce events, read topics with a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from pipelines.common.clients import (
    client_config,
    create_registry_topics,
    pipeline_group,
    producer_config,
)
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    partition: int
    offset: int

    def json(self) -> Any:
        assert self.value is not None
        return orjson.loads(self.value)

    def header(self, name: str) -> str:
        return self.headers[name].decode()


def produce(
    settings: StreamwiseSettings,
    topic: str,
    messages: Iterable[tuple[str | bytes | None, Any]],
    *,
    timestamp_ms: int | None = None,
) -> None:
    """Send (key, value) pairs in order; values that are not bytes are JSON-encoded (``None``
    is a tombstone).

    ``timestamp_ms`` sets the Kafka timestamp (e.g. a profile valid since before
    the transactions it is joined with); by default the producer stamps "now". Like
    every client of ours it creates the registry's topics first (no broker of ours
    auto-creates them).
    """
    create_registry_topics(settings)
    producer = Producer(producer_config(settings))
    for key, value in messages:
        raw_key = key.encode() if isinstance(key, str) else key
        raw_value = value if isinstance(value, bytes) or value is None else encode_json(value)
        producer.produce(
            settings.topic_prefix + topic, key=raw_key, value=raw_value, timestamp=timestamp_ms or 0
        )
    assert producer.flush(30) == 0


def read(
    settings: StreamwiseSettings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool] = lambda records: False,
    timeout_s: float = 30.0,
    idle_s: float = 0.0,
    isolation: str = "read_uncommitted",
) -> list[Record]:
    """Read ``topic`` from the start until ``until(records)`` holds or the deadline passes.

    With ``idle_s`` > 0 it also returns once nothing new arrived for that long after
    ``until`` holds (to see that nothing *extra* comes).
    """
    consumer = Consumer(
        {
            **client_config(settings),
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    # assign every partition from the beginning: no consumer-group join to wait for
    name = settings.topic_prefix + topic
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in partitions])
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    satisfied_at: float | None = None
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                records.append(
                    Record(
                        message.key(),
                        message.value(),
                        dict(message.headers() or []),
                        message.partition(),
                        message.offset(),
                    )
                )
                continue
            if until(records):
                satisfied_at = satisfied_at or time.monotonic()
                if time.monotonic() - satisfied_at >= idle_s:
                    return records
        return records
    finally:
        consumer.close()


def lag(settings: StreamwiseSettings, pipeline: str, topic: str) -> dict[int, int]:
    """Messages of each partition of ``topic`` past the pipeline group's committed offset."""
    name = settings.topic_prefix + topic
    group = pipeline_group(pipeline, settings.topic_prefix)
    consumer = Consumer({**client_config(settings), "group.id": group})
    try:
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        committed = consumer.committed([TopicPartition(name, p) for p in partitions], timeout=10)
        return {
            tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] - max(tp.offset, 0)
            for tp in committed
        }
    finally:
        consumer.close()
