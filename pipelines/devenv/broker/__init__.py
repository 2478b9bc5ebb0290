"""Embedded brokers: a real Kafka (default) or Tansu, on 127.0.0.1, owned by this process.

``embedded_broker()`` is the one way the CLI, the demo and the tests start a
broker: it prepares the engine, starts it as a supervised child, waits until it
answers metadata requests and stops it (never leaving an orphan) on exit.
"""

from __future__ import annotations

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
    ready_timeout_s: float = 90.0,
    security: SaslSsl | None = None,
    log_dir: Path | None = None,
) -> Iterator[RunningBroker]:
    """Run an embedded broker for the duration of the ``with`` block.

    ``port=0`` picks a free port. Kafka keeps its log dir under ``workdir`` (a
    temporary folder by default, removed on exit): every embedded broker starts empty.
    Its logs go to ``log_dir`` if given (appended, kept after exit), else beside its data.
    With ``security``, Kafka listens with SASL_SSL only; ``client_config`` of the
    running broker says how to connect.
    """
    if engine not in ENGINES:
        msg = f"unknown broker engine {engine!r}; choose one of {', '.join(ENGINES)}"
        raise BrokerError(msg)
    if security is not None and engine != "kafka":
        msg = f"SASL_SSL needs the kafka engine; {engine!r} cannot do it"
        raise BrokerError(msg)
    port = port or free_port()
    home = Path(tempfile.mkdtemp(prefix=f"streamwise-{engine}-", dir=workdir))
    try:
        listener = SecureListener.prepare(security, home) if security is not None else None
        clients = listener.client_config() if listener is not None else {}
        argv, log_file, producer_config = _prepare(engine, port, home, listener, log_dir)
        child = process.spawn(argv, log_path=log_file, cwd=home)
        try:
            address = f"127.0.0.1:{port}"
            wait_ready(address, timeout_s=ready_timeout_s, child=child, log_file=log_file,
                       client_config=clients)  # fmt: skip
            logger.info("embedded %s broker ready at %s (pid %s)", engine, address, child.pid)
            yield RunningBroker(engine, address, log_file, child, producer_config, clients,
                                listener)  # fmt: skip
        finally:
            process.stop(child)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _prepare(
    engine: Engine, port: int, home: Path, listener: SecureListener | None, log_dir: Path | None
) -> tuple[list[str], Path, dict[str, str | int]]:
    """The command line, log file and producer settings for ``engine`` in ``home``."""
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    if engine == "tansu":
        return tansu_command(port), (log_dir or home) / "tansu.log", dict(TANSU_PRODUCER_CONFIG)
    java, jars = java_executable(), kafka_jars()
    node = KafkaNode(
        home=home, port=port, controller_port=free_port(), security=listener, log_dir=log_dir
    )
    node.write_config()
    formatted = subprocess.run(
        node.format_command(java, jars), capture_output=True, text=True, check=False
    )
    if formatted.returncode != 0:
        msg = f"could not format the Kafka log dir: {formatted.stderr.strip()[-500:]}"
        raise BrokerError(msg)
    return node.run_command(java, jars), node.log_file, {}
