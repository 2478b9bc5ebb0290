"""The CDC test stack from real parts: PostgreSQL, Kafka Connect (distributed) and Debezium.

A row inserted, updated and deleted in PostgreSQL reaches the broker as the connector
writes it, and ``pipelines.common.cdc`` reads every record of it: the profile with its
JSONB notices, the notices updated away, then the profile removed (delete and tombstone).
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from pipelines.common.cdc.debezium import decode_change
from pipelines.common.cdc.mapping import customer_profile
from pipelines.common.events import Customer
from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker.process import tail
from pipelines.devenv.connect import ConnectWorker, debezium_postgres_config
from pipelines.devenv.postgres import Postgres
from tests import kafkaio
from tests.processes import wait_for

NOTICE = '[{"country": "FR", "from": "2026-12-01", "to": "2026-12-09"}]'


def test_a_row_inserted_updated_and_deleted_reaches_us_as_debezium_writes_it(
    settings: StreamwiseSettings, postgres: Postgres, connect: ConnectWorker
) -> None:
    postgres.psql(f"insert into customers values ('card-1', 'cust-1', 'GB', '{NOTICE}', 'high')")
    config = debezium_postgres_config(
        host=postgres.host, port=postgres.port, user=postgres.user, database=postgres.database,
        prefix=settings.topic_prefix + "shop", tables="public.customers",
        partitions=settings.partitions,
    )  # fmt: skip
    connect.put_connector("shop", config)
    connect.wait_running("shop")
    postgres.psql("update customers set travel_notices = '[]' where card_id = 'card-1'")
    postgres.psql("delete from customers where card_id = 'card-1'")

    topic = settings.topic_prefix + "shop.public.customers"
    admin = AdminClient({"bootstrap.servers": settings.broker or ""})
    wait_for(lambda: topic in admin.list_topics(timeout=5).topics, timeout_s=90,
             what=lambda: f"Debezium's topic {topic}: {tail(connect.log_path)}")  # fmt: skip
    records = kafkaio.read(settings, "shop.public.customers", until=lambda r: len(r) >= 4,
                           timeout_s=90)  # fmt: skip
    changes = [decode_change(r.value, r.key) for r in records]
    profiles = [customer_profile(change, {}) for change in changes]

    assert [c.op for c in changes] == ["upsert", "upsert", "delete", "delete"]
    snapshot, updated = (Customer.model_validate(p) for _, p in profiles[:2] if p is not None)
    assert ([n.country for n in snapshot.travel_notices], snapshot.risk_tier) == (["FR"], "high")
    assert updated.travel_notices == []
    assert profiles[2:] == [("card-1", None), ("card-1", None)]
    assert len({r.partition for r in records}) == 1  # one row's changes stay in order
