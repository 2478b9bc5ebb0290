"""A local ``chroma run`` server as a supervised child, for deployments of several processes.

Embedded Chroma (``PersistentClient``) belongs to one process; when several
pipelines (and the dashboard) share a store on one machine, they need a server.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.devenv.broker import free_port, process


class ChromaServerError(RuntimeError):
    """The local Chroma server did not start."""


@dataclass(frozen=True)
class ChromaServer:
    """A running ``chroma run``: its ``host:port`` and its process (the leader of its group)."""

    address: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_chroma(
    path: Path, log_path: Path, *, port: int = 0, ready_within_s: float = 60.0
) -> Iterator[ChromaServer]:
    """Serve the Chroma data in ``path`` on ``port`` (0: a free one), until the block ends.

    Yields once the server answers its heartbeat; stops its whole process group after.
    Started again on the same ``path`` and port, it is the same store to its clients.
    """
    port = port or free_port()
    chroma = Path(sys.executable).with_name("chroma")
    child = process.spawn(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        log_path=log_path,
    )
    try:
        process.wait_until_answering(
            child, f"http://127.0.0.1:{port}/api/v2/heartbeat", log_path,
            what="chroma", ready_within_s=ready_within_s, error=ChromaServerError,
        )  # fmt: skip
        yield ChromaServer(address=f"127.0.0.1:{port}", process=child)
    finally:
        process.stop(child)
