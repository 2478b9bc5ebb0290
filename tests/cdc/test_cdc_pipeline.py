"""``run cdc`` on what real Debezium writes: PostgreSQL -> Kafka Connect -> us -> the pipelines.

A temporary PostgreSQL 15 cluster (``wal_level=logical``), Kafka Connect in distributed
mode with the Debezium 3.6.1 PostgreSQL connector at its defaults (JSON converter with
schemas, the row's primary key as the record key, murmur2 partitioning, no SMT), and the
connector's topics given one partition where ours have two, so nothing lines up unless
``run cdc`` re-keys. ``run cdc`` and ``run fraud`` run as processes, as users run them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from pipelines.common.clients import producer_config
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.connect import ConnectWorker, debezium_postgres_config
from pipelines.devenv.postgres import Postgres
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.settings import KnowledgeSettings
from tests.fraud.transactions import LONDON, PARIS, txn
from tests.kafkaio import Record, lag, produce, read
from tests.knowledge.conftest import run_sync
from tests.processes import create_topics, start_pipeline, stop, wait_for


def connector_topic(settings: StreamwiseSettings, table: str) -> str:
    return f"{settings.topic_prefix}shop.public.{table}"


def start_connector(
    settings: StreamwiseSettings, postgres: Postgres, connect: ConnectWorker
) -> None:
    """The connector on both tables; its topics get 1 partition (ours: ``settings.partitions``).

    ``run cdc`` may start before a table's topic exists (Debezium creates it with the
    table's first row): it creates the topic itself then.
    """
    config = debezium_postgres_config(
        host=postgres.host, port=postgres.port, user=postgres.user, database=postgres.database,
        prefix=settings.topic_prefix + "shop", tables="public.customers,public.documents",
        partitions=1,
    )  # fmt: skip
    connect.put_connector("shop", config)
    connect.wait_running("shop")


def cdc_env(settings: StreamwiseSettings) -> dict[str, str]:
    return {
        "STREAMWISE_CDC_CUSTOMERS": "debezium",
        "STREAMWISE_CDC_CUSTOMERS_TOPIC": connector_topic(settings, "customers"),
        "STREAMWISE_CDC_KB": "debezium",
        "STREAMWISE_CDC_KB_TOPIC": connector_topic(settings, "documents"),
        "STREAMWISE_CDC_KB_COLUMNS": "text=body",
    }


def profiles(settings: StreamwiseSettings, card: str, count: int) -> list[Record]:
    """The first ``count`` records of ``card`` on ``customers`` (a tombstone's value is None)."""

    def of_card(records: list[Record]) -> list[Record]:
        return [r for r in records if r.key == card.encode()]

    records = read(settings, "customers", until=lambda r: len(of_card(r)) >= count, timeout_s=60)
    found = of_card(records)
    assert len(found) >= count, f"{card}: {len(found)} of {count} records on customers"
    return found[:count]


def alerts_for(settings: StreamwiseSettings, count: int, log: Path) -> list[dict[str, Any]]:
    records = read(settings, "fraud-alerts", until=lambda r: len(r) >= count, timeout_s=90)
    assert len(records) >= count, log.read_text()[-3000:]
    return sorted((r.json() for r in records), key=lambda alert: alert["ts"])


def trip(settings: StreamwiseSettings, name: str, at: datetime) -> None:
    """London, then Paris 40 s later: impossible travel, with event times from ``at``."""
    later = at + timedelta(seconds=40)
    produce(settings, "transactions", [
        ("card-7", txn(f"{name}-a", "card-7", place=LONDON, ts=at.isoformat())),
        ("card-7", txn(f"{name}-b", "card-7", place=PARIS, ts=later.isoformat())),
    ])  # fmt: skip


def caught_up(settings: StreamwiseSettings, pipeline: str, topic: str) -> bool:
    return not any(lag(settings, pipeline, topic).values())


def test_profiles_from_postgres_steer_fraud_alerts_through_insert_update_and_delete(
    settings: StreamwiseSettings, postgres: Postgres, connect: ConnectWorker, tmp_path: Path
) -> None:
    create_topics(settings)
    today = datetime.now(UTC).date()
    notice = (f'[{{"country": "FR", "from": "{today - timedelta(days=1)}", '
              f'"to": "{today + timedelta(days=7)}"}}]')  # fmt: skip
    postgres.psql(f"insert into customers values ('card-7', 'cust-7', 'GB', '{notice}', 'high')")
    start_connector(settings, postgres, connect)
    log = tmp_path / "pipelines.log"
    cdc = start_pipeline(settings, log, "cdc", env=cdc_env(settings))
    fraud = start_pipeline(settings, log, "fraud")
    try:
        [inserted] = profiles(settings, "card-7", 1)
        assert inserted.json()["travel_notices"][0]["country"] == "FR"
        start = datetime.now(UTC)
        trip(settings, "announced", start)
        [announced] = alerts_for(settings, 1, log)
        assert announced["severity"] == "medium"  # notice: low; risk tier high: one up
        assert any("travel notice for FR" in reason for reason in announced["reasons"])

        postgres.psql("update customers set travel_notices = '[]' where card_id = 'card-7'")
        assert profiles(settings, "card-7", 2)[1].json()["travel_notices"] == []
        wait_for(lambda: caught_up(settings, "fraud", "customers"), timeout_s=60,
                 what="fraud reading the updated profile")  # fmt: skip
        trip(settings, "unannounced", start + timedelta(hours=1))
        unannounced = alerts_for(settings, 2, log)[1]
        assert unannounced["severity"] == "high"
        assert not any("travel notice" in reason for reason in unannounced["reasons"])
        assert any("risk tier is high" in reason for reason in unannounced["reasons"])

        postgres.psql("delete from customers where card_id = 'card-7'")
        assert profiles(settings, "card-7", 3)[2].value is None  # the card's tombstone
        wait_for(lambda: caught_up(settings, "fraud", "customers"), timeout_s=60,
                 what="fraud reading the tombstone")  # fmt: skip
        trip(settings, "forgotten", start + timedelta(hours=2))
        forgotten = alerts_for(settings, 3, log)[2]
        assert not any("risk tier" in reason for reason in forgotten["reasons"])  # no profile
    finally:
        assert stop(fraud) == 0, log.read_text()[-3000:]
        assert stop(cdc) == 0, log.read_text()[-3000:]
    assert read(settings, "cdc-dlq", timeout_s=2) == []


def test_document_rows_keep_the_index_in_step_and_bad_events_are_dead_lettered_alone(
    settings: StreamwiseSettings, postgres: Postgres, connect: ConnectWorker, tmp_path: Path
) -> None:
    create_topics(settings)
    postgres.psql("insert into documents values ('refunds', 'Refunds', 'Refunds take 30 days.')")
    start_connector(settings, postgres, connect)
    log = tmp_path / "cdc.log"
    cdc = start_pipeline(settings, log, "cdc", env=cdc_env(settings))
    try:
        postgres.psql(
            "update documents set body = 'Refunds take 45 days.' where doc_id = 'refunds'"
        )
        # what no connector writes, between two real changes: an update without its row
        producer = Producer(producer_config(settings))
        producer.produce(connector_topic(settings, "documents"), key=b'{"doc_id": "broken"}',
                         value=b'{"op": "u", "before": null, "after": null}')  # fmt: skip
        assert producer.flush(30) == 0
        postgres.psql("insert into documents values ('fees', 'Fees', 'The card fee is 2 EUR.')")
        changes = read(settings, "kb-changes", until=lambda r: len(r) >= 3, timeout_s=60)
        texts = {key: [r.json()["text"] for r in changes if r.key == key]
                 for key in (b"refunds", b"fees")}  # fmt: skip
        assert texts == {b"refunds": ["Refunds take 30 days.", "Refunds take 45 days."],
                         b"fees": ["The card fee is 2 EUR."]}  # fmt: skip
        [dead] = read(settings, "cdc-dlq", until=lambda r: len(r) >= 1, timeout_s=30, idle_s=1)
        assert dead.key == b'{"doc_id": "broken"}'
        assert "after" in dead.header("streamwise.error")

        run_sync(settings)
        index = KnowledgeIndex.open(settings, KnowledgeSettings())
        refunds = index.manifest(["refunds"]).documents["refunds"]
        assert any(
            "45 days" in (r.document or "") for r in index.chunks.get(ids=list(refunds.chunk_ids))
        )

        postgres.psql("delete from documents where doc_id = 'refunds'")
        read(settings, "kb-changes", until=lambda r: len(r) >= 4, timeout_s=60)
        run_sync(settings)
        manifest = index.manifest().documents
        assert manifest["refunds"].deleted
        assert manifest["refunds"].version > refunds.version
        assert not [r for r in index.chunks.get() if r.id.startswith("refunds:")]
    finally:
        assert stop(cdc) == 0, log.read_text()[-3000:]


def test_a_connector_restarted_mid_stream_loses_no_row(
    settings: StreamwiseSettings, postgres: Postgres, connect: ConnectWorker, tmp_path: Path
) -> None:
    create_topics(settings)
    start_connector(settings, postgres, connect)
    log = tmp_path / "cdc.log"
    cdc = start_pipeline(settings, log, "cdc", env=cdc_env(settings))
    rows = [f"('card-{i}', 'cust-{i}', 'GB', null, 'standard')" for i in range(20)]
    try:
        postgres.psql(f"insert into customers values {', '.join(rows[:10])}")
        connect.restart_connector("shop")
        postgres.psql(f"insert into customers values {', '.join(rows[10:])}")
        connect.wait_running("shop")
        cards = {f"card-{i}".encode() for i in range(20)}
        records = read(settings, "customers", until=lambda r: cards <= {x.key for x in r},
                       timeout_s=90)  # fmt: skip
        assert cards <= {r.key for r in records}, log.read_text()[-3000:]
    finally:
        assert stop(cdc) == 0, log.read_text()[-3000:]
