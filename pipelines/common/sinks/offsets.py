"""Which source records a table already holds: the offsets its last append covered.

Every append to a lake table carries, in its snapshot's properties, the highest source
offset written so far for each topic partition: the previous append's offsets advanced
by its own rows. The snapshot and these offsets are one atomic commit, so after a crash,
a backpressure pause or a rebalance the replayed records at or below those offsets are
exactly the ones the table holds: they are skipped, the rest appended.

It holds because a partition's records reach the sink in offset order, and each
append writes all of a checkpoint's rows for its partitions at once: no record above
an offset is ever written before every one below it that is to be written at all.
(Records dead-lettered or filtered before the sink leave gaps, which change nothing.)
Pure: the sink reads and writes the property.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

OFFSETS_PROPERTY = "streamwise.source-offsets"
"""The snapshot property: ``{"topic": {"partition": highest offset written}}`` as JSON."""


@dataclass(frozen=True)
class SourceOffsets:
    """The highest offset a table holds of each source topic partition."""

    offsets: Mapping[str, Mapping[int, int]] = field(default_factory=dict)

    def holds(self, topic: str, partition: int, offset: int) -> bool:
        """Whether the record at ``offset`` of ``topic[partition]`` was written already."""
        return offset <= self.offsets.get(topic, {}).get(partition, -1)

    def advanced(self, records: Iterable[tuple[str, int, int]]) -> SourceOffsets:
        """These offsets moved past ``records`` (topic, partition, offset); never backwards."""
        merged = {topic: dict(partitions) for topic, partitions in self.offsets.items()}
        for topic, partition, offset in records:
            partitions = merged.setdefault(topic, {})
            partitions[partition] = max(offset, partitions.get(partition, -1))
        return SourceOffsets(merged)

    def encode(self) -> str:
        return orjson.dumps(
            {topic: {str(p): o for p, o in sorted(parts.items())}
             for topic, parts in sorted(self.offsets.items())}
        ).decode()  # fmt: skip

    @classmethod
    def decode(cls, text: str) -> SourceOffsets:
        """The offsets in a snapshot property; ``ValueError`` if it is not ours."""
        try:
            data = orjson.loads(text)
            return cls({
                str(topic): {int(p): int(o) for p, o in parts.items()}
                for topic, parts in data.items()
            })  # fmt: skip
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            msg = f"{OFFSETS_PROPERTY} is not a map of topics to partition offsets: {text[:80]!r}"
            raise ValueError(msg) from exc


def unwritten(rows: Iterable[tuple[str, int, int]], written: SourceOffsets) -> list[int]:
    """Indexes of the ``rows`` (topic, partition, offset) the table does not hold yet."""
    return [
        index
        for index, (topic, partition, offset) in enumerate(rows)
        if not written.holds(topic, partition, offset)
    ]


def latest_offsets(summaries: Iterable[Mapping[str, str] | None]) -> SourceOffsets:
    """The offsets of the newest snapshot that carries them, from newest to oldest summaries.

    A snapshot some other writer made (a compaction by Spark, say) carries none; the
    one before it still tells what the table held of the sources.
    """
    for summary in summaries:
        if summary is not None and OFFSETS_PROPERTY in summary:
            return SourceOffsets.decode(summary[OFFSETS_PROPERTY])
    return SourceOffsets()
