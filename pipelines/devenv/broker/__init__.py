"""Embedded brokers: a real Kafka (default) or Tansu, on 127.0.0.1, owned by this process.

``embedded_broker()`` is the one way the CLI, the demo and the tests start a
broker: it prepares the engine, starts it as a supervised child, waits until it
answers metadata requests and stops it (never leaving an orphan) on exit.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.common.clients import TANSU_PRODUCER_CONFIG
from pipelines.devenv.broker import process
from pipelines.devenv.broker.errors import BrokerError
from pipelines.devenv.broker.kafka import (
    KafkaNode,
    java_executable,
    kafka_jars,
    kafka_tool_command,
)
from pipelines.devenv.broker.security import SaslSsl, SecureListener
from pipelines.devenv.broker.tansu import tansu_command

__all__ = [
    "BrokerError",
    "Engine",
    "RunningBroker",
    "SaslSsl",
    "embedded_broker",
    "free_port",
    "kafka_tool_command",
    "wait_ready",
]

logger = logging.getLogger(__name__)

Engine = Literal["kafka", "tansu"]
ENGINES: tuple[Engine, ...] = ("kafka", "tansu")


@dataclass(frozen=True)
class RunningBroker:
    """An embedded broker that answers metadata requests at ``address``."""

    engine: Engine
    address: str
    log_file: Path
    child: subprocess.Popen[bytes] = field(compare=False, repr=False)
    producer_config: dict[str, str | int] = field(default_factory=dict)
    client_config: dict[str, str] = field(default_factory=dict)
    """What a client needs besides the address (SASL_SSL: mechanism, user, password, CA)."""
    listener: SecureListener | None = field(default=None, compare=False, repr=False)
    data_dir: Path | None = None
    """Where it keeps its log across restarts (``None``: a temporary folder, removed on exit)."""
    restored: bool = False
    """It came back with the topics, offsets and transactions of an earlier run in ``data_dir``."""

    @property
    def secure(self) -> SecureListener:
        """The SASL_SSL listener: its users' client settings, for librdkafka and Java tools."""
        if self.listener is None:
            msg = "this broker has no SASL_SSL listener, hence no users"
            raise BrokerError(msg)
        return self.listener

    @property
    def alive(self) -> bool:
        return self.child.poll() is None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    address: str,
    *,
    timeout_s: float,
    child: subprocess.Popen[bytes] | None = None,
    log_file: Path | None = None,
    client_config: Mapping[str, Any] | None = None,
) -> None:
    """Block until ``address`` answers a metadata request; fail fast if ``child`` dies."""
    from confluent_kafka.admin import AdminClient  # noqa: PLC0415 - heavy, only when starting

    admin = AdminClient(
        {**(client_config or {}), "bootstrap.servers": address, "logger": _QUIET_LOGGER}
    )
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            tail = process.tail(log_file) if log_file else ""
            msg = f"broker exited with code {child.returncode} while starting\n{tail}"
            raise BrokerError(msg)
        try:
            admin.list_topics(timeout=1.0)
        except Exception as exc:
            last_error = exc
            time.sleep(0.2)
        else:
            return
    msg = f"broker at {address} did not answer within {timeout_s:.0f}s: {last_error}"
    raise BrokerError(msg)


class _QuietLogger(logging.Logger):
    """librdkafka logs every refused connection while the broker boots; keep that quiet."""

    def __init__(self) -> None:
        super().__init__("streamwise.broker.probe", level=logging.CRITICAL)


_QUIET_LOGGER = _QuietLogger()


@contextmanager
def embedded_broker(
    engine: Engine = "kafka",
    *,
    port: int = 0,
    workdir: Path | None = None,
    data_dir: Path | None = None,
    ready_timeout_s: float = 90.0,
    security: SaslSsl | None = None,
    log_dir: Path | None = None,
    advertised_port: int | None = None,
) -> Iterator[RunningBroker]:
    """Run an embedded broker for the duration of the ``with`` block.

    ``port=0`` picks a free port. Kafka keeps its log dir under ``workdir`` (a
    temporary folder by default, removed on exit): such a broker starts empty. With
    ``data_dir`` it keeps its log and metadata there instead, across stops and kills,
    and comes back on the port (and controller port) it had: same cluster, every
    topic, offset and transaction intact. Its logs go to ``log_dir`` if given
    (appended, kept after exit), else beside its data. With ``security``, Kafka listens
    with SASL_SSL only; ``client_config`` of the running broker says how to connect.
    ``advertised_port`` sends clients elsewhere after bootstrap (a fault proxy in front).
    """
    if advertised_port is not None and (engine != "kafka" or security is not None):
        msg = "an advertised port needs the kafka engine without SASL_SSL"
        raise BrokerError(msg)
    if engine not in ENGINES:
        msg = f"unknown broker engine {engine!r}; choose one of {', '.join(ENGINES)}"
        raise BrokerError(msg)
    if security is not None and engine != "kafka":
        msg = f"SASL_SSL needs the kafka engine; {engine!r} cannot do it"
        raise BrokerError(msg)
    if data_dir is not None and (engine != "kafka" or security is not None):
        msg = "a data dir that survives restarts needs the kafka engine without SASL_SSL"
        raise BrokerError(msg)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    home = data_dir or Path(tempfile.mkdtemp(prefix=f"streamwise-{engine}-", dir=workdir))
    try:
        ports = _ports(home, port) if data_dir is not None else Ports(port or free_port())
        listener = SecureListener.prepare(security, home) if security is not None else None
        clients = listener.client_config() if listener is not None else {}
        argv, log_file, producer_config, restored = _prepare(
            engine, ports, home, listener, log_dir=log_dir, advertised_port=advertised_port
        )
        child = process.spawn(argv, log_path=log_file, cwd=home)
        try:
            address = f"127.0.0.1:{ports.port}"
            wait_ready(address, timeout_s=ready_timeout_s, child=child, log_file=log_file,
                       client_config=clients)  # fmt: skip
            logger.info("embedded %s broker ready at %s (pid %s)", engine, address, child.pid)
            yield RunningBroker(engine, address, log_file, child, producer_config, clients,
                                listener, data_dir, restored)  # fmt: skip
        finally:
            process.stop(child)
    finally:
        if data_dir is None:
            shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class Ports:
    """The client port and the KRaft controller port of one broker."""

    port: int
    controller_port: int = field(default_factory=free_port)


def _ports(home: Path, port: int) -> Ports:
    """The ports a broker in ``home`` had before (``port`` overrides its client port), or
    new ones, remembered for its next start: a restart must look like the same broker."""
    remembered = home / "ports.json"
    if remembered.exists():
        was = json.loads(remembered.read_text())
        ports = Ports(port or int(was["port"]), int(was["controller_port"]))
    else:
        ports = Ports(port or free_port())
    remembered.write_text(
        json.dumps({"port": ports.port, "controller_port": ports.controller_port})
    )
    return ports


def _prepare(
    engine: Engine, ports: Ports, home: Path, listener: SecureListener | None, *,
    log_dir: Path | None, advertised_port: int | None,
) -> tuple[list[str], Path, dict[str, str | int], bool]:  # fmt: skip
    """The command line, log file and producer settings for ``engine`` in ``home``, and
    whether it restores a log dir formatted before."""
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    if engine == "tansu":
        command = tansu_command(ports.port)
        return command, (log_dir or home) / "tansu.log", dict(TANSU_PRODUCER_CONFIG), False
    java, jars = java_executable(), kafka_jars()
    node = KafkaNode(
        home=home, port=ports.port, controller_port=ports.controller_port, security=listener,
        log_dir=log_dir, advertised_port=advertised_port,
    )  # fmt: skip
    node.write_config()
    restored = node.formatted
    if not restored:
        formatted = subprocess.run(
            node.format_command(java, jars), capture_output=True, text=True, check=False
        )
        if formatted.returncode != 0:
            msg = f"could not format the Kafka log dir: {formatted.stderr.strip()[-500:]}"
            raise BrokerError(msg)
    return node.run_command(java, jars), node.log_file, {}, restored
