"""Chroma clients: connect (embedded or a server), fail fast, bound every request, reopen.

``connect_chroma`` gives the client a :class:`~state.vectors.VectorCollection` is
opened on; ``reopen`` gives a collection that sees what other processes wrote since
it was opened. What is stored, and how, is ``state/vectors.py``'s job.
"""

# chromadb (heavy) and httpx (its HTTP client) are imported inside functions on purpose.
# ruff: noqa: PLC0415

from __future__ import annotations

import fcntl
import importlib.util
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from state.vectors import VectorCollection, VectorStoreUnavailable

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.config import Settings

logger = logging.getLogger(__name__)

_CHROMA_MISSING = "the vector store needs the 'chromadb' package (pip install 'chromadb>=1.5,<1.6')"
_REOPENING = threading.Lock()
"""Held while chromadb's shared System of a path is lifted out (``_private_client``)."""


def parse_chroma_host(value: str) -> tuple[str, int]:
    """Split ``STREAMWISE_CHROMA_HOST`` (``host:port``) into its parts, quoting a bad value."""
    host, _, port = value.strip().rpartition(":")
    if not host or any(c.isspace() or c == "/" for c in host) or not port.isdigit():
        msg = f"STREAMWISE_CHROMA_HOST must be host:port (e.g. 127.0.0.1:8000), got {value!r}"
        raise ValueError(msg)
    if not 0 < int(port) < 65536:
        msg = f"STREAMWISE_CHROMA_HOST port must be 1-65535, got {value!r}"
        raise ValueError(msg)
    return host, int(port)


def connect_chroma(
    data_dir: Path, host: str | None = None, *, timeout_s: float = 30.0
) -> ClientAPI:
    """Connect to Chroma: embedded under ``data_dir / "chroma"``, or the server at ``host``.

    A server must answer its heartbeat within ``timeout_s`` or this raises
    :class:`~state.vectors.VectorStoreUnavailable` at once, so a pipeline fails at
    startup rather than at its first write. Every later request is bounded by the
    same timeout, because a stalled server must not hang a sink forever.
    """
    if importlib.util.find_spec("chromadb") is None:
        raise ImportError(_CHROMA_MISSING)
    import chromadb

    if host is None:
        path = data_dir / "chroma"
        logger.info("chroma: embedded, data in %s", path)
        with _opening(path):
            return chromadb.PersistentClient(path=path, settings=_client_settings())

    hostname, port = parse_chroma_host(host)
    _check_heartbeat(hostname, port, timeout_s)
    client = chromadb.HttpClient(host=hostname, port=port, settings=_client_settings())
    _bound_request_time(client, timeout_s)
    logger.info("chroma: server at %s:%d", hostname, port)
    return client


@contextmanager
def _opening(path: Path) -> Iterator[None]:
    """Held by one process at a time while it opens the embedded store at ``path``.

    Chroma creates its SQLite tables when a store is first opened, and two processes
    opening a new store together (``run knowledge`` and ``run rag`` started at once) both
    try: the second died with "table collections already exists" (seen in CI). An
    exclusive ``flock`` on a file beside the store serialises the opening; afterwards
    each open takes one uncontended lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def reopen(collection: VectorCollection) -> VectorCollection:
    """``collection`` as it is now, with every write other processes have finished since.

    A server holds the one copy, so a server's collection comes back as it is.
    Embedded Chroma (chromadb 1.5) loads a collection's vector index once per
    process and shares it between the process's clients of one path: another
    process's writes then show in ``count`` and plain ``get``, but not in
    ``query``, and ``get`` with vectors fails ("Error finding id"). So for embedded
    Chroma this opens the collection again on a client of its own, which reads the
    files afresh (milliseconds for a collection of a few thousand records). The
    process's other clients, and collections opened on them, are left as they
    were: they keep working, on what they had loaded.

    Embedded Chroma stays a store of one writing process: a read that races
    another process's write can fail (a ``ChromaError``) or, measured with
    chromadb 1.5.9, crash the reader. Deployments of several processes that read
    while others write use a server (``STREAMWISE_CHROMA_HOST``).
    """
    settings = collection.client.get_settings()
    if not settings.is_persistent:  # a server, or in-memory (one process by definition)
        return collection
    return VectorCollection.open(
        _private_client(settings.persist_directory),
        collection.name,
        embedding_model_id=collection.embedding_model_id,
        dimension=collection.dimension,
    )


def _private_client(path: str) -> ClientAPI:
    """An embedded client on a System of its own, leaving the process's shared one in place.

    chromadb keeps one System per path for the whole process (``SharedSystemClient``);
    a new ``PersistentClient`` joins it, and so sees the stale index. Lifting that
    entry out while the new client starts gives the client a fresh System; putting
    it back keeps every later client of the process on the shared one.
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    systems = SharedSystemClient._identifier_to_system
    with _REOPENING, _opening(Path(path)):
        shared = systems.pop(path, None)
        try:
            return chromadb.PersistentClient(path=path, settings=_client_settings())
        finally:
            systems.pop(path, None)
            if shared is not None:
                systems[path] = shared


def _client_settings() -> Settings:
    """A fresh Settings per client: chromadb's HttpClient mutates the one it is given,
    and a PersistentClient built from that object would then talk HTTP."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def _check_heartbeat(hostname: str, port: int, timeout_s: float) -> None:
    """Fail fast: chromadb's own connect has no timeout, so an unanswering host would hang it."""
    import httpx

    url = f"http://{hostname}:{port}/api/v2/heartbeat"
    try:
        httpx.get(url, timeout=timeout_s).raise_for_status()
    except httpx.HTTPError as exc:
        what = f"chroma at {hostname}:{port} did not answer its heartbeat"
        raise VectorStoreUnavailable.because(what, exc) from exc


def _bound_request_time(client: ClientAPI, timeout_s: float) -> None:
    """Put a timeout on the HTTP session (chromadb 1.5 creates it with none and has no setting)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)
    else:
        logger.warning("chroma: could not set a request timeout; a stalled server may block")
