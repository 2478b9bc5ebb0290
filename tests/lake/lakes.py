"""A lake on a temporary folder with the real catalog and sink, fed without a broker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.common.events import FraudAlert
from pipelines.common.serialization import decode_event, encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.iceberg import IcebergSink, Pending
from pipelines.lake.lake_pipeline import Converter, lake_schemas
from pipelines.lake.query import Answer, open_lake, query
from pipelines.lake.settings import LakeSettings

TOPIC = "t.fraud-alerts"


def alert(n: int, **extra: Any) -> dict[str, Any]:
    """A valid velocity alert ``a<n>`` on 2026-11-20."""
    return {
        "alert_id": f"a{n}",
        "rule": "velocity",
        "card_id": f"card-{n % 3}",
        "txn_ids": [f"t{n}"],
        "ts": f"2026-11-20T10:{n % 60:02d}:00Z",
        "severity": "low",
        "reasons": ["6 transactions in 60 s"],
        **extra,
    }


@dataclass
class Lake:
    """A lake folder, its settings, the sink writing it and what it dead-lettered."""

    folder: Path
    rejected: list[tuple[Pending, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = StreamwiseSettings(data_dir=self.folder.parent)
        self.lake = LakeSettings(dir=self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        schemas = lake_schemas()
        self.book = SchemaBook(schemas)
        self.sink = IcebergSink(
            self.lake.location(self.settings),
            self.book,
            schemas,
            lambda row, reason: self.rejected.append((row, reason)),
            backoff_s=0.1,
        )
        self.sink.setup()
        self._alerts = Converter("fraud_alerts", self.book)

    def add_alerts(self, offsets: range, partition: int = 0, **extra: Any) -> None:
        """Alerts ``a<offset>`` at those offsets of ``TOPIC[partition]``, as the flow adds them."""
        for offset in offsets:
            raw = encode_json(alert(offset, **extra))
            event = decode_event(FraudAlert, raw)
            row = self._alerts.convert(event, b"k", 0, [])
            self.sink.add(row, b"k", 0, [], TOPIC, partition, offset)

    def sql(self, text: str) -> Answer:
        return query(open_lake(self.settings, self.lake), text)
