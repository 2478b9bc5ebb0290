"""The ``cdc`` profile of the compose stack, checked through its containers.

PostgreSQL, Kafka Connect with Debezium, the one-shot that registers the connector and
``run cdc`` come up beside the running stack; a customer row with a travel notice is
inserted with ``psql`` in the PostgreSQL container, and a London -> Paris trip of that card
must be alerted with the notice's reason: the row reached the fraud join through Debezium.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from deploy.stack import LONDON, PARIS, compose, produce, purchase, read_topic, wait_healthy
from pipelines.devenv.postgres import BANK_SCHEMA

CARD = "e2e-cdc-card"


class Report(Protocol):
    def check(self, name: str, passed: bool, detail: str) -> bool: ...


def cdc_environment() -> None:
    """The cdc profile's database password, made up for this run (set before ``render``)."""
    os.environ.setdefault("POSTGRES_PASSWORD", secrets.token_hex(12))


def psql(sql: str) -> None:
    user, database = os.environ.get("POSTGRES_USER", "bank"), os.environ.get("POSTGRES_DB", "bank")
    compose("exec", "-T", "postgres", "psql", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", database,
            "-c", sql)  # fmt: skip


def check_cdc(report: Report) -> None:
    started = time.monotonic()
    compose("--profile", "cdc", "up", "-d", "--no-build", "--no-recreate", "postgres")
    waiting = wait_healthy(["postgres"])
    if waiting is None:
        psql(BANK_SCHEMA)
        compose("--profile", "cdc", "up", "-d", "--no-build", "--no-recreate",
                "connect", "cdc-connector", "cdc")  # fmt: skip
        waiting = wait_healthy(["connect", "cdc-connector", "cdc"])
    report.check(
        "cdc profile healthy (PostgreSQL, Connect + Debezium, connector, run cdc)",
        waiting is None,
        waiting or f"in {time.monotonic() - started:.0f} s",
    )
    if waiting is not None:
        return
    today = datetime.now(UTC).date()
    notice = (f'[{{"country": "FR", "from": "{today - timedelta(days=1)}", '
              f'"to": "{today + timedelta(days=7)}"}}]')  # fmt: skip
    psql(f"insert into customers values ('{CARD}', 'e2e-cust', 'GB', '{notice}', 'standard')")
    profiles = read_topic("customers", lambda r: any(p.get("card_id") == CARD for p in r), 180)
    report.check(
        "cdc: a customer row inserted in PostgreSQL reaches customers, keyed by card",
        any(p.get("card_id") == CARD for p in profiles),
        f"{len(profiles)} profile(s) on customers",
    )
    at = datetime.now(UTC)
    later = at + timedelta(seconds=40)
    produce("transactions", [purchase("e2e-cdc-1", CARD, LONDON, at),
                             purchase("e2e-cdc-2", CARD, PARIS, later)])  # fmt: skip

    def alerted(records: list[dict[str, Any]]) -> bool:
        return any(a["card_id"] == CARD for a in records)

    alerts = [a for a in read_topic("fraud-alerts", alerted, 180) if a["card_id"] == CARD]
    reasons = [r for a in alerts for r in a["reasons"]]
    report.check(
        "cdc: the row's travel notice lowers the card's fraud alert",
        bool(alerts)
        and alerts[0]["severity"] == "low"
        and any("travel notice" in r for r in reasons),
        f"{[a['severity'] for a in alerts]} {reasons[1:] if reasons else ''}",
    )
