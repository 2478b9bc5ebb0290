r"""CDC: what a Debezium connector writes, as the contract topics the pipelines read.

<connector's customers topic> --translate--> customers  (keyed by card_id; a delete: tombstone)
<connector's documents topic> --translate--> kb-changes (keyed by doc_id; a delete: op delete)
not Debezium / not mappable --> cdc-dlq

The connector keys a row's records by its primary key as a JSON object and partitions
them with Java's murmur2 over those bytes; the fraud join needs ``customers`` keyed by
``card_id`` and partitioned as ``transactions`` are. So the rows are re-keyed here, once,
into the contract topics, and every pipeline reads them as if a producer of ours had
written them: one extra hop through Kafka per row change, nothing per transaction.
Each record is translated alone (no state), so a repeat after a restart writes the same
key and value again: harmless on the compacted topics and to the versioned sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipelines.cdc.settings import CdcSettings, CdcSource
from pipelines.cdc.translate import customer_record, kb_record
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.serialization import KeyedRecord
from pipelines.common.settings import SettingsError, StreamwiseSettings, load_settings

Translate = Callable[[bytes | None, bytes | None, Mapping[str, str], int], KeyedRecord | None]


def translating(
    translate: Translate, columns: Mapping[str, str]
) -> Callable[[bytes | None, bytes | None, int, Any], KeyedRecord | None]:
    """A Quix step with metadata: one connector record (value, key, time) as a contract record."""

    def step(value: bytes | None, key: bytes | None, timestamp_ms: int, headers: Any) -> Any:
        return translate(value, key, columns, timestamp_ms)

    return step


TRANSLATIONS: dict[str, Translate] = {"customers": customer_record, "kb-changes": kb_record}


def build(papp: PipelineApp, sources: list[CdcSource]) -> None:
    """Declare one translation per connector topic."""
    for source in sources:
        topic = papp.connector_topic(source.connector_topic, named_by=source.named_by)
        translate = translating(TRANSLATIONS[source.contract_topic], source.columns)
        records = papp.app.dataframe(topic).apply(
            stage(f"translate-{source.contract_topic}", translate), metadata=True
        )
        papp.publish_records(records.filter(lambda record: record is not None),
                             source.contract_topic)  # fmt: skip


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run cdc``."""
    sources = load_settings(CdcSettings).sources()  # bad settings fail before any client
    if not sources:
        msg = (
            "bad setting: run cdc has nothing to translate; set STREAMWISE_CDC_CUSTOMERS="
            "debezium and/or STREAMWISE_CDC_KB=debezium, each with its _TOPIC"
        )
        raise SettingsError(msg)
    papp = make_app("cdc", settings)
    build(papp, sources)
    papp.run()
