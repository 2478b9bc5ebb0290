"""Real Chroma for the vector-store tests: one server per session, a client per mode.

Every behaviour test takes ``client`` and so runs twice: against embedded Chroma
(a PersistentClient in the test's tmp dir) and against a real ``chroma run``
server, because both are deployments users run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from pipelines.devenv.broker import free_port
from pipelines.devenv.chroma_server import ChromaServer, running_chroma
from state.chroma import connect_chroma


def running_chroma_server(root: Path) -> AbstractContextManager[ChromaServer]:
    """``chroma run`` over ``root``/data, logging to ``root``/chroma-server.log."""
    return running_chroma(root / "data", root / "chroma-server.log")


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
