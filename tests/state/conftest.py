"""Real Chroma for the vector-store tests: one server per session, a client per mode.

Every behaviour test takes ``client`` and so runs twice: against embedded Chroma
(a PersistentClient in the test's tmp dir) and against a real ``chroma run``
server, because both are deployments users run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from chromadb.api import ClientAPI

from state.vectors import connect_chroma

CHROMA_CLI = Path(sys.executable).with_name("chroma")


@dataclass(frozen=True)
class ChromaServer:
    """A running ``chroma run`` process; ``address`` is ``host:port``."""

    address: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_chroma_server(root: Path, ready_within_s: float = 60.0) -> Iterator[ChromaServer]:
    """Start ``chroma run`` on a free port, wait for its heartbeat, stop its process group after."""
    port = free_port()
    log_path = root / "chroma-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                CHROMA_CLI,
                "run",
                "--path",
                root / "data",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches every child
        )
    try:
        _wait_for_heartbeat(process, port, log_path, ready_within_s)
        yield ChromaServer(address=f"127.0.0.1:{port}", process=process)
    finally:
        _stop(process)


def _wait_for_heartbeat(
    process: subprocess.Popen[bytes], port: int, log_path: Path, within_s: float
) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chroma exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1.0).raise_for_status()
        except httpx.HTTPError:
            time.sleep(0.05)  # poll interval, not a wait for a result
        else:
            return
    _stop(process)
    pytest.fail(f"chroma did not answer its heartbeat within {within_s}s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGCONT)  # in case a test left it stopped
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One real Chroma server shared by the session; tests keep apart by collection name."""
    with running_chroma_server(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(params=["embedded", "server"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClientAPI]:
    """A Chroma client from ``connect_chroma``, once per deployment mode."""
    if request.param == "embedded":
        chroma = connect_chroma(tmp_path)
    else:
        server: ChromaServer = request.getfixturevalue("chroma_server")
        chroma = connect_chroma(tmp_path, server.address)
    yield chroma
    chroma.close()


@pytest.fixture
def start_chroma_server() -> Callable[[Path], AbstractContextManager[ChromaServer]]:
    """For tests that need a server of their own (e.g. to stall it)."""
    return running_chroma_server


@pytest.fixture
def closed_address() -> str:
    """``host:port`` where nothing listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def collection_name() -> str:
    """A fresh name, so tests sharing the session server never see each other's records."""
    return f"test-{uuid.uuid4().hex[:12]}"
