"""Toxiproxy, the real one (``make toxiproxy-bin``): network faults between a pipeline and
a service, driven through its HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipelines.devenv.broker import free_port, process
from pipelines.devenv.broker.kafka import cache_root

VERSION = "2.12.0"  # the Makefile's TOXIPROXY_VERSION


class ToxiproxyError(RuntimeError):
    """The Toxiproxy server did not start or refused a request."""


@dataclass(frozen=True)
class Proxy:
    """One proxy: clients connect to ``listen``, Toxiproxy forwards to its upstream."""

    api: str
    name: str
    listen_port: int

    def partition(self) -> None:
        """Drop every byte both ways, connections left open: a network partition."""
        for stream in ("upstream", "downstream"):
            _post(self.api, f"/proxies/{self.name}/toxics", {
                "name": f"partition-{stream}", "type": "timeout", "stream": stream,
                "attributes": {"timeout": 0},
            })  # fmt: skip

    def heal(self) -> None:
        for stream in ("upstream", "downstream"):
            response = httpx.delete(f"{self.api}/proxies/{self.name}/toxics/partition-{stream}")
            if response.status_code not in {204, 404}:
                raise ToxiproxyError(response.text)


@dataclass(frozen=True)
class Toxiproxy:
    api: str

    def proxy(self, name: str, upstream: str, listen_port: int = 0) -> Proxy:
        port = listen_port or free_port()
        _post(self.api, "/proxies", {
            "name": name, "listen": f"127.0.0.1:{port}", "upstream": upstream, "enabled": True,
        })  # fmt: skip
        return Proxy(self.api, name, port)


def _post(api: str, path: str, body: dict[str, object]) -> None:
    response = httpx.post(api + path, json=body)
    if response.status_code >= 300:
        raise ToxiproxyError(f"{path}: {response.status_code} {response.text}")


def binary() -> Path:
    found = cache_root() / f"toxiproxy-{VERSION}" / "bin" / "toxiproxy-server"
    if not found.exists():
        msg = f"{found} is missing: run 'make toxiproxy-bin'"
        raise ToxiproxyError(msg)
    return found


@contextmanager
def running_toxiproxy(log: Path) -> Iterator[Toxiproxy]:
    port = free_port()
    child = process.spawn([str(binary()), "-host", "127.0.0.1", "-port", str(port)], log_path=log)
    try:
        api = f"http://127.0.0.1:{port}"
        process.wait_until_answering(child, f"{api}/version", log, what="toxiproxy",
                                     ready_within_s=30, error=ToxiproxyError)  # fmt: skip
        yield Toxiproxy(api)
    finally:
        process.stop(child)
