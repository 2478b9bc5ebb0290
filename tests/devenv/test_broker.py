"""Embedded brokers as processes: address on stdout, clean stop, no orphan, Tansu works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.common.admin import ensure_topics
from pipelines.common.app import make_app
from pipelines.common.clients import client_config
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import all_topics
from pipelines.devenv.broker import embedded_broker, wait_ready
from pipelines.fraud.fraud_pipeline import build
from pipelines.fraud.settings import FraudSettings
from tests.fraud.transactions import LONDON, PARIS, txn
from tests.kafkaio import produce, read


def broker_children(pid: int) -> list[int]:
    """Pids of every descendant of ``pid`` (from /proc: no extra dependency)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(kids)
        frontier.extend(kids)
    return found


def start_cli_broker(*args: str) -> tuple[subprocess.Popen[str], str]:
    cli = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "broker", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert cli.stdout is not None
    address = cli.stdout.readline().strip()
    return cli, address


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


def wait_gone(pids: list[int], timeout_s: float = 30) -> list[int]:
    """The pids still alive after up to ``timeout_s`` (polled with a deadline)."""
    deadline = time.monotonic() + timeout_s
    while (running := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


@pytest.mark.parametrize("engine", ["kafka", "tansu"])
def test_broker_verb_prints_its_address_and_stops_cleanly_on_sigterm(engine: str) -> None:
    cli, address = start_cli_broker("--engine", engine, "--port", "0")
    try:
        host, port = address.split(":")
        assert host == "127.0.0.1"
        assert int(port) > 0
        wait_ready(address, timeout_s=10)
        children = broker_children(cli.pid)
        assert children
    finally:
        cli.send_signal(signal.SIGTERM)
    assert cli.wait(60) == 0
    assert wait_gone(children) == []


def test_the_broker_dies_with_its_parent_even_on_sigkill() -> None:
    cli, address = start_cli_broker("--engine", "kafka")
    wait_ready(address, timeout_s=10)
    children = broker_children(cli.pid)
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait(10)
    assert wait_gone(children) == [], "the JVM outlived a SIGKILLed parent"


def test_a_stateful_pipeline_runs_and_restarts_on_tansu(tmp_path: Path) -> None:
    """Smoke test of the pip-only engine, with its watermark workaround, through a restart."""
    with embedded_broker("tansu") as broker:
        settings = StreamwiseSettings(
            broker=broker.address, broker_engine="tansu", data_dir=tmp_path, partitions=1
        )

        def run_once() -> None:
            papp = make_app("fraud", settings)
            build(papp, FraudSettings())
            papp.app.run(timeout=5)

        ensure_topics(client_config(settings), all_topics(), partitions=1)
        produce(settings, "transactions", [("c1", txn("a", "c1", timedelta(0), LONDON))])
        run_once()  # remembers London in RocksDB state (and its changelog)
        produce(settings, "transactions", [("c1", txn("b", "c1", timedelta(seconds=40), PARIS))])
        run_once()  # a restart: the changelog must recover, or Paris is not compared
        [alert] = read(settings, "fraud-alerts", until=lambda r: len(r) >= 1)
        assert alert.json()["txn_ids"] == ["a", "b"]
