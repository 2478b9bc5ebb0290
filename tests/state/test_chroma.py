"""Chroma clients against real Chroma: connecting fails fast, reopening sees other processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from pipelines.devenv.chroma_server import ChromaServer
from state.chroma import connect_chroma, parse_chroma_host, reopen
from state.vectors import VectorRecord, VectorStoreUnavailable
from tests.state.records import DIM, MODEL, chunk, open_collection, unit

WRITER = """
import json, sys
from pathlib import Path
from state.chroma import connect_chroma
from state.vectors import VectorCollection, VectorRecord
data_dir, name, model, dimension, records = sys.argv[1:]
vectors = VectorCollection.open(
    connect_chroma(Path(data_dir)), name, embedding_model_id=model, dimension=int(dimension)
)
vectors.upsert([VectorRecord(**record) for record in json.loads(records)])
"""


def write_in_another_process(data_dir: Path, name: str, records: list[VectorRecord]) -> None:
    """Upsert ``records`` from a process of its own on embedded Chroma under ``data_dir``."""
    payload = json.dumps([{**asdict(r), "vector": list(r.vector)} for r in records])
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(data_dir), name, MODEL, str(DIM), payload],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


OPENER = """
import sys, time
from pathlib import Path
import chromadb  # imported first: the race is in opening, not in importing
from state.chroma import connect_chroma
data_dir, ready = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not (data_dir.parent / "go").exists():
    time.sleep(0.001)
connect_chroma(data_dir).list_collections()
"""


OPENERS = 6


def test_processes_opening_a_new_embedded_store_at_once_all_open_it(tmp_path: Path) -> None:
    """``run knowledge`` and ``run rag`` started together on a fresh data dir: the second
    died with "table collections already exists" (seen in CI). Six at once, released
    together once each has imported chromadb, make the race likely."""
    data_dir = tmp_path / "data"
    ready = [tmp_path / f"ready{n}" for n in range(OPENERS)]
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(data_dir), str(flag)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 120
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline, "the openers never got ready"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for opener in openers:
        _, stderr = opener.communicate(timeout=120)
        assert opener.returncode == 0, stderr[-2000:]


# --- reopening ----------------------------------------------------------------------------


def test_a_write_by_another_process_is_seen_after_reopen_on_embedded_chroma(
    tmp_path: Path,
) -> None:
    vectors = open_collection(connect_chroma(tmp_path), "shared")
    vectors.upsert([chunk("faq", 0, axis=0)])
    assert [hit.id for hit in vectors.query(unit(0), k=1)] == ["faq#0"]  # the index is loaded

    write_in_another_process(tmp_path, "shared", [chunk("faq", 1, axis=1), chunk("refunds", 0, 2)])
    stale = [hit.id for hit in vectors.query(unit(2), k=3)]
    assert "refunds#0" not in stale  # otherwise embedded Chroma needs no reopen

    fresh = reopen(vectors)
    assert [hit.id for hit in fresh.query(unit(2), k=1)] == ["refunds#0"]
    [stored] = fresh.get(["faq#1"], with_vectors=True)
    assert stored.vector == pytest.approx(unit(1))
    assert (fresh.name, fresh.embedding_model_id, fresh.dimension) == ("shared", MODEL, DIM)
    assert fresh.count() == 3


def test_a_reopen_leaves_the_processs_other_clients_on_what_they_share(tmp_path: Path) -> None:
    vectors = open_collection(connect_chroma(tmp_path), "shared")
    vectors.upsert([chunk("faq", 0, axis=0)])
    fresh = reopen(vectors)
    assert [hit.id for hit in fresh.query(unit(0), k=1)] == ["faq#0"]  # its own index loaded

    vectors.upsert([chunk("faq", 1, axis=1)])
    later = open_collection(connect_chroma(tmp_path), "shared")

    assert [hit.id for hit in vectors.query(unit(1), k=1)] == ["faq#1"]
    assert [hit.id for hit in later.query(unit(1), k=1)] == ["faq#1"]
    assert [hit.id for hit in reopen(vectors).query(unit(1), k=1)] == ["faq#1"]


def test_reopen_on_a_server_is_the_collection_itself(
    tmp_path: Path, chroma_server: ChromaServer, collection_name: str
) -> None:
    vectors = open_collection(connect_chroma(tmp_path, chroma_server.address), collection_name)

    assert reopen(vectors) is vectors


# --- connecting ---------------------------------------------------------------------------


def test_connect_to_a_closed_port_raises_unavailable_quickly_in_one_line(
    tmp_path: Path, closed_address: str
) -> None:
    started = time.monotonic()

    with pytest.raises(VectorStoreUnavailable) as raised:
        connect_chroma(tmp_path, closed_address)

    assert time.monotonic() - started < 2.0
    message = str(raised.value)
    assert closed_address in message
    assert "\n" not in message


def test_connect_to_a_server_that_never_answers_times_out_as_unavailable(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()

        with pytest.raises(VectorStoreUnavailable, match="heartbeat"):
            connect_chroma(tmp_path, address, timeout_s=0.5)

        assert time.monotonic() - started < 3.0


def test_a_stalled_server_surfaces_as_unavailable_instead_of_hanging(
    tmp_path: Path, start_chroma_server: Callable[[Path], AbstractContextManager[Any]]
) -> None:
    with start_chroma_server(tmp_path) as server:
        client = connect_chroma(tmp_path, server.address, timeout_s=1.0)
        vectors = open_collection(client, "stall")
        os.killpg(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(VectorStoreUnavailable, match="ReadTimeout"):
                vectors.upsert([chunk("faq", 0, axis=0)])
            assert time.monotonic() - started < 5.0
        finally:
            os.killpg(server.process.pid, signal.SIGCONT)
            client.close()


def test_a_well_formed_chroma_host_is_split_into_host_and_port() -> None:
    assert parse_chroma_host("chroma.internal:8000") == ("chroma.internal", 8000)
    assert parse_chroma_host(" 127.0.0.1:9 ") == ("127.0.0.1", 9)


@pytest.mark.parametrize(
    "value",
    ["chroma", "chroma:", ":8000", "http://chroma:8000", "chroma:http", "chroma:0", "c:70000"],
)
def test_a_malformed_chroma_host_is_rejected_quoting_the_value(value: str) -> None:
    with pytest.raises(ValueError, match="STREAMWISE_CHROMA_HOST") as raised:
        parse_chroma_host(value)

    assert repr(value) in str(raised.value)
