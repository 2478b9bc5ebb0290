"""Serve an ASGI app (FastAPI or Starlette) on uvicorn: the one way streamwise speaks HTTP.

``streamwise serve``, the dashboard and every pipeline's metrics endpoint declare their
routes as ASGI apps and run them here, so routing, request limits and errors come from
the library. The socket is bound before uvicorn starts: a busy port fails at once with
a ``ConnectionError`` naming it, and port 0 reports the port it got before the first
request. uvicorn logs through the process's structured handler (no ``log_config`` of its
own); its start-up lines and one access line per request are debug detail, shown only
with ``STREAMWISE_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

GRACE_S = 5
"""After a stop, how long requests in flight may take before they are cancelled."""


def bind(host: str, port: int, what: str) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port) for ``what`` (e.g. "metrics")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:  # the bare reason: create_server appends the address again
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        msg = f"cannot serve {what} on {host}:{port}: {reason}"
        raise ConnectionError(msg) from exc


def port_of(sock: socket.socket) -> int:
    """The port ``sock`` is bound to (the real one when it was bound to port 0)."""
    return int(sock.getsockname()[1])


Tls = tuple[Path, Path]
"""A certificate chain and its private key, both PEM (``STREAMWISE_HTTP_TLS_CERT``/``_KEY``)."""


def _server(app: ASGIApp, tls: Tls | None) -> uvicorn.Server:
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    cert, key = tls if tls is not None else (None, None)
    config = uvicorn.Config(
        app,
        ssl_certfile=cert,
        ssl_keyfile=key,
        log_config=None,
        log_level=logging.DEBUG if verbose else logging.WARNING,
        access_log=verbose,
        lifespan="off",  # no app here has start-up or shutdown hooks
        timeout_graceful_shutdown=GRACE_S,
    )
    return uvicorn.Server(config)


def run(app: ASGIApp, sock: socket.socket, tls: Tls | None = None) -> None:
    """Serve ``app`` on ``sock`` in this thread until SIGINT or SIGTERM.

    uvicorn finishes the requests in flight, then lets the signal take its usual course
    (``KeyboardInterrupt`` for SIGINT, the process ends on SIGTERM).
    """
    try:
        _server(app, tls).run(sockets=[sock])
    finally:
        sock.close()


@contextlib.contextmanager
def serving(
    app: ASGIApp, host: str, port: int, *, what: str, tls: Tls | None = None
) -> Iterator[int]:
    """Serve ``app`` on ``host:port`` from a daemon thread while inside; yields the port."""
    sock = bind(host, port, what)
    server = _server(app, tls)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"http-{what}", daemon=True
    )
    thread.start()
    try:
        yield port_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=GRACE_S + 5)
        sock.close()
