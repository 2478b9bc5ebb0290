"""``streamwise run lake`` as a real process on the session broker, and its tables read back."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog

from pipelines.common.settings import StreamwiseSettings
from pipelines.lake.query import LakeMissing, lake_tables, open_lake, query
from pipelines.lake.settings import LakeSettings
from tests.processes import start_pipeline, wait_for

FAST_COMMITS = {"STREAMWISE_LAKE_COMMIT_INTERVAL_S": "0.5"}
"""Tests read the tables soon after the records go in: an append every half second."""


def start_lake(settings: StreamwiseSettings, log: Path) -> subprocess.Popen[bytes]:
    return start_pipeline(settings, log, "lake", env=FAST_COMMITS)


def _catalog(settings: StreamwiseSettings) -> Catalog | None:
    """The deployment's lake catalog (``<data dir>/lake``); None before the lake process made it."""
    try:
        return open_lake(settings, LakeSettings())
    except LakeMissing:
        return None


def rows(settings: StreamwiseSettings, sql: str) -> list[tuple[Any, ...]]:
    """The answer to ``sql`` over the deployment's lake; none before the lake process created it."""
    catalog = _catalog(settings)
    return query(catalog, sql).rows if catalog is not None else []


def alert_ids(settings: StreamwiseSettings, table: str = "fraud_alerts") -> Counter[str]:
    """The alert ids in ``table``; none before the lake process created it (the catalog
    comes first, each table with the first records of its topic)."""
    catalog = _catalog(settings)
    if catalog is None or table not in lake_tables(catalog):
        return Counter()
    return Counter(row[0] for row in query(catalog, f"select alert_id from {table}").rows)


def wait_for_rows(
    settings: StreamwiseSettings, count: int, log: Path, *, timeout_s: float = 90
) -> Counter[str]:
    """The alert ids of ``fraud_alerts`` once it holds ``count`` rows (fails past the deadline)."""

    def enough() -> Counter[str] | None:
        ids = alert_ids(settings)
        return ids if ids.total() >= count else None

    return wait_for(
        enough,
        timeout_s=timeout_s,
        what=lambda: (
            f"{count} rows in fraud_alerts, have {alert_ids(settings).total()}; "
            f"log: {log.read_text()[-2000:]}"
        ),
    )
