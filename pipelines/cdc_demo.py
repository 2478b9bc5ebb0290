"""``streamwise demo --cdc``: customer rows in PostgreSQL, through Debezium, steer fraud alerts.

What a bank's site has, started here: a PostgreSQL cluster with a ``customers`` table,
Kafka Connect with the Debezium PostgreSQL connector at its defaults, and ``run cdc`` and
``run fraud`` as processes. Then the back office changes one customer's row three times
(a travel notice for France, the notice withdrawn, the row deleted), and after each change
the card makes the same London -> Paris trip in 40 seconds: the alert it gets shows which
profile the fraud join saw.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from rich.console import Console

from pipelines.common.clients import (
    client_config,
    create_registry_topics,
    pipeline_group,
    producer_config,
)
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.demo import DemoError, check_alive, start_pipelines, wait_until_consuming
from pipelines.devenv.broker import process
from pipelines.devenv.connect import debezium_postgres_config, running_connect
from pipelines.devenv.postgres import BANK_SCHEMA, running_postgres

CARD = "card-4242"
LONDON = {"lat": 51.5074, "lon": -0.1278, "country": "GB", "merchant": "Pret, London"}
PARIS = {"lat": 48.8566, "lon": 2.3522, "country": "FR", "merchant": "Fnac, Paris"}
WAIT_S = 120.0


def run_cdc_demo(settings: StreamwiseSettings) -> int:
    """Run the CDC demo on ``settings``' broker; returns the exit code."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    settings = settings.model_copy(update={
        "data_dir": settings.data_dir / "demo" / f"cdc-{run_id}",
        "topic_prefix": settings.topic_prefix or f"demo-cdc-{run_id}.",
    })  # fmt: skip
    logs, console = settings.data_dir / "logs", Console(soft_wrap=True, highlight=False)
    connector_topic = f"{settings.topic_prefix}bank.public.customers"
    console.print(f"[bold]streamwise demo --cdc[/] on {settings.broker}; logs in {logs}")
    create_registry_topics(settings)
    with (
        running_postgres() as postgres,
        running_connect(settings.broker or "", logs / "connect") as connect,
    ):
        postgres.psql(BANK_SCHEMA)
        console.print(
            f"PostgreSQL on {postgres.host}:{postgres.port}, Kafka Connect at {connect.url}"
        )
        connect.put_connector("bank", debezium_postgres_config(
            host=postgres.host, port=postgres.port, user=postgres.user, database=postgres.database,
            prefix=f"{settings.topic_prefix}bank", tables="public.customers", partitions=1,
        ))  # fmt: skip
        connect.wait_running("bank")
        console.print(f"Debezium connector 'bank' running: public.customers -> {connector_topic}")
        env = {"STREAMWISE_CDC_CUSTOMERS": "debezium",
               "STREAMWISE_CDC_CUSTOMERS_TOPIC": connector_topic}  # fmt: skip
        children = start_pipelines(settings, ["cdc", "fraud"], logs, env)
        try:
            wait_until_consuming(settings, list(children), children)
            watch = Watch(settings, children)
            _story(settings, postgres.psql, watch, console)
        finally:
            for child in children.values():
                process.stop(child, grace_s=20)
    return 0


def _story(
    settings: StreamwiseSettings, sql: Callable[[str], str], watch: Watch, console: Console
) -> None:
    today = datetime.now(UTC).date()
    notice = (f'[{{"country": "FR", "from": "{today - timedelta(days=1)}", '
              f'"to": "{today + timedelta(days=7)}"}}]')  # fmt: skip
    steps = [
        ("a customer tells the bank about a trip to France",
         f"insert into customers values ('{CARD}', 'cust-42', 'GB', '{notice}', 'high')"),
        ("the trip is called off", f"update customers set travel_notices = '[]' "
                                   f"where card_id = '{CARD}'"),
        ("the customer leaves the bank", f"delete from customers where card_id = '{CARD}'"),
    ]  # fmt: skip
    start, seen = datetime.now(UTC), []
    for number, (story, statement) in enumerate(steps):
        console.rule(f"[bold]{number + 1}. {story}")
        console.print(f"  postgres> {statement}", markup=False)
        sql(statement)
        profile = watch.next_record("customers")
        console.print(f"  customers <- {CARD}: {_profile_text(profile)}", markup=False)
        watch.caught_up("fraud", "customers")
        _trip(settings, start + timedelta(hours=number), f"t{number}")
        alert = watch.next_record("fraud-alerts")
        if alert is None:
            raise DemoError("an alert arrived empty")
        adjustments = alert["reasons"][1:]  # the first reason is the trip itself
        console.print(f"  London -> Paris in 40 s: [bold]{alert['severity']}[/]")
        for reason in adjustments or ["(no profile adjustment)"]:
            console.print(f"    {reason}", markup=False)
        seen.append(f"{alert['severity']} ({len(adjustments)} profile reasons)")
    console.rule("[bold]summary")
    console.print(f"{len(steps)} row changes reached the fraud join through Debezium and run "
                  f"cdc; the trip after each was alerted {', then '.join(seen)}.")  # fmt: skip


def _profile_text(profile: dict[str, Any] | None) -> str:
    if profile is None:
        return "tombstone (the profile is deleted)"
    notices = ", ".join(f"{n['country']} {n['from']}..{n['to']}" for n in profile["travel_notices"])
    return (f"home {profile['home_country']}, risk tier {profile['risk_tier']}, travel notices: "
            f"{notices or 'none'}")  # fmt: skip


def _trip(settings: StreamwiseSettings, at: datetime, name: str) -> None:
    producer = Producer(producer_config(settings))
    for offset_s, place in ((0, LONDON), (40, PARIS)):
        ts = (at + timedelta(seconds=offset_s)).isoformat()
        txn = {"txn_id": f"{name}-{offset_s}", "card_id": CARD, "ts": ts, "amount": 12.5,
               "currency": "EUR", "channel": "card_present", **place}  # fmt: skip
        producer.produce(f"{settings.topic_prefix}transactions", key=CARD.encode(),
                         value=encode_json(txn))  # fmt: skip
    producer.flush(30)


class Watch:
    """Reads the demo's topics from the start, one record at a time, while checking the
    pipelines still run."""

    def __init__(self, settings: StreamwiseSettings, children: dict[str, Any]) -> None:
        self._settings, self._children = settings, children
        group = f"streamwise-demo-{uuid.uuid4().hex[:8]}"
        self._consumer = Consumer(
            {**client_config(settings), "auto.offset.reset": "earliest", "group.id": group}
        )
        self._consumer.subscribe([settings.topic_prefix + t for t in ("customers", "fraud-alerts")])
        self._seen: dict[str, list[dict[str, Any] | None]] = {}
        self._taken: dict[str, int] = {}

    def next_record(self, topic: str) -> dict[str, Any] | None:
        """The next value on ``topic`` (``None``: a tombstone); ``DemoError`` after a while."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            taken = self._taken.get(topic, 0)
            if len(self._seen.get(topic, [])) > taken:
                self._taken[topic] = taken + 1
                return self._seen[topic][taken]
            check_alive(self._children)
            message = self._consumer.poll(0.2)
            if message is not None and message.error() is None:
                name = message.topic().removeprefix(self._settings.topic_prefix)
                raw = message.value()
                self._seen.setdefault(name, []).append(orjson.loads(raw) if raw else None)
        msg = f"nothing new on {topic} within {WAIT_S:.0f}s (see the logs)"
        raise DemoError(msg)

    def caught_up(self, pipeline: str, topic: str) -> None:
        """Block until ``pipeline`` has committed everything on ``topic``."""
        name = self._settings.topic_prefix + topic
        group = pipeline_group(pipeline, self._settings.topic_prefix)
        probe = Consumer({**client_config(self._settings), "group.id": group})
        deadline = time.monotonic() + WAIT_S
        try:
            partitions = probe.list_topics(name, timeout=10).topics[name].partitions
            wanted = [TopicPartition(name, p) for p in partitions]
            while time.monotonic() < deadline:
                committed = probe.committed(wanted, timeout=10)
                ends = [probe.get_watermark_offsets(tp, timeout=10)[1] for tp in committed]
                if all(
                    tp.offset >= end or end == 0 for tp, end in zip(committed, ends, strict=True)
                ):
                    return
                time.sleep(0.2)
        finally:
            probe.close()
        msg = f"{pipeline} did not catch up on {topic} within {WAIT_S:.0f}s"
        raise DemoError(msg)
