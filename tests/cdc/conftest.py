"""The CDC stack from real parts, per test: a PostgreSQL cluster holding the bank schema and
a Kafka Connect worker (distributed mode, the Debezium PostgreSQL connector) on the suite's
broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.connect import ConnectWorker, running_connect
from pipelines.devenv.postgres import BANK_SCHEMA, Postgres, running_postgres


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    with running_postgres() as pg:
        pg.psql(BANK_SCHEMA)
        yield pg


@pytest.fixture
def connect(settings: StreamwiseSettings, tmp_path: Path) -> Iterator[ConnectWorker]:
    with running_connect(settings.broker or "", tmp_path / "connect") as worker:
        yield worker
