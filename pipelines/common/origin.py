"""Where a message entered its pipeline, carried across repartitions in its headers.

A ``group_by`` re-sends a message through an internal topic under a new key. A step
after it that fails for good would otherwise dead-letter the message under that new
key and name the internal topic as its source, while the contract promises the
*original* key and the source topic/partition/offset. ``stamp_origin`` (a
``set_headers`` callback that ``PipelineApp.regroup`` applies before every repartition)
records them once; the dead-letter writer reads them back with ``split_origin``.
Published outputs drop them (``without_origin``): a pipeline that reads another's
output starts a new origin there. Headers a pipeline passes to itself through an
internal topic (``INTERNAL_PREFIX``, e.g. the feedback batcher's answers) are dropped
the same way, from outputs and from dead letters alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quixstreams import message_context

ORIGIN_PREFIX = "streamwise.origin."
INTERNAL_PREFIX = "streamwise.internal."
_TOPIC, _PARTITION, _OFFSET, _KEY = (
    ORIGIN_PREFIX + field for field in ("topic", "partition", "offset", "key")
)

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Origin:
    """The key and position of a message in the topic it was first read from."""

    key: bytes | None
    topic: str
    partition: int
    offset: int


def stamp_origin(_value: Any, key: Any, _timestamp: int, headers: Any) -> Headers:
    """Add the current message's key and position to its headers, unless already there."""
    kept: Headers = list(headers or [])
    if any(name.startswith(ORIGIN_PREFIX) for name, _ in kept):
        return kept  # repartitioned twice: the first origin is the true one
    ctx = message_context()
    stamped = [
        (_TOPIC, ctx.topic.encode()),
        (_PARTITION, str(ctx.partition).encode()),
        (_OFFSET, str(ctx.offset).encode()),
    ]
    if key is not None:
        stamped.append((_KEY, key if isinstance(key, bytes) else str(key).encode()))
    return kept + stamped


def without_origin(_value: Any, _key: Any, _timestamp: int, headers: Any) -> Headers:
    """The headers minus the origin: a ``set_headers`` callback for outputs."""
    return split_origin(headers)[1]


def split_origin(headers: Sequence[tuple[str, bytes]] | None) -> tuple[Origin | None, Headers]:
    """The origin recorded in ``headers`` (None if there is none) and the other headers."""
    found = {name: value for name, value in headers or [] if name.startswith(ORIGIN_PREFIX)}
    rest = [
        (name, value)
        for name, value in headers or []
        if not name.startswith((ORIGIN_PREFIX, INTERNAL_PREFIX))
    ]
    if not {_TOPIC, _PARTITION, _OFFSET} <= found.keys():
        return None, rest
    origin = Origin(
        key=found.get(_KEY),
        topic=found[_TOPIC].decode(),
        partition=int(found[_PARTITION]),
        offset=int(found[_OFFSET]),
    )
    return origin, rest
