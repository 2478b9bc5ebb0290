r"""The lake: every output topic as an Iceberg table of Parquet files, partitioned by day.

fraud-alerts, fraud-alerts-triaged, feedback-enriched,  -> convert (record -> row of its
feedback-insights, feedback-alerts, answers                table, schema widened) -> IcebergSink
undecodable / invalid / unfit for its column / refused by Arrow -> lake-dlq

One table per topic, named as the topic with ``-`` as ``_``, in the namespace
``streamwise`` of the SQLite catalog under ``STREAMWISE_LAKE_DIR`` (``<data dir>/lake``).
Rows are appended at every checkpoint (``STREAMWISE_LAKE_COMMIT_INTERVAL_S``), each table's
append carrying the source offsets it covers, so that a replay never doubles a row
(``common/sinks/iceberg.py``). Columns, their types and the day partition are explained
in ``common/sinks/rows.py``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipelines.common.access import PIPELINE_ACCESS
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.events import Event
from pipelines.common.serialization import original_bytes
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.iceberg import SINK_STEP, IcebergSink, Pending
from pipelines.common.sinks.rows import LakeRow, event_day, table_name, table_schema
from pipelines.common.topics import spec
from pipelines.lake.settings import LakeSettings

LAKE_TOPICS = PIPELINE_ACCESS["lake"].reads
"""The topics the lake keeps, each as the table ``table_name(topic)``."""


def lake_schemas() -> dict[str, pa.Schema]:
    """The schema a new table of each lake topic starts with: its event model's fields."""
    schemas = {}
    for topic in LAKE_TOPICS:
        model = spec(topic).model
        if model is None:
            msg = f"topic {topic} has no event model: the lake cannot type its columns"
            raise TypeError(msg)
        schemas[table_name(topic)] = table_schema(model)
    return schemas


class Converter:
    """A record of one topic as a row of its table; its new fields widen the table's schema."""

    def __init__(self, table: str, book: SchemaBook) -> None:
        self._table, self._book = table, book

    def convert(self, event: Event, key: Any, timestamp_ms: int, headers: Any) -> LakeRow:
        """Raises ``Unfit`` (the record is dead-lettered) for a value its column cannot hold."""
        record = event.model_dump(by_alias=True)
        values = self._book.convert(self._table, record, event_day(record, timestamp_ms))
        return LakeRow(self._table, values, original_bytes(event))


def build(papp: PipelineApp, lake: LakeSettings) -> IcebergSink:
    """Declare the dataflow on ``papp`` and return its sink (for its counters)."""
    lake.directory(papp.settings).mkdir(parents=True, exist_ok=True)
    schemas = lake_schemas()
    book = SchemaBook(schemas)

    def reject(row: Pending, reason: str) -> None:
        papp.dead_letters.send(
            key=row.key if isinstance(row.key, bytes | None) else str(row.key).encode(),
            value=row.row.raw,
            headers=row.headers,
            error=f"Unwritable: {reason}",
            stage=SINK_STEP,
            source=(row.topic, row.partition, row.offset),
        )

    sink = IcebergSink(lake.location(papp.settings), book, schemas, reject)
    for topic in LAKE_TOPICS:
        converter = Converter(table_name(topic), book)
        records = papp.app.dataframe(papp.topic(topic))
        records.apply(stage("convert", converter.convert), metadata=True).sink(sink)
    return sink


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run lake``."""
    lake = load_settings(LakeSettings)
    papp = make_app(
        "lake", settings, commit_interval_s=lake.commit_interval_s, commit_every=lake.commit_every
    )
    build(papp, lake)
    papp.run()
