"""Kafka Connect in distributed mode with the Debezium PostgreSQL connector, as one child process.

The CDC path is tested against what users run: Apache Kafka's own ``connect-runtime`` (the
embedded broker's version) and ``io.debezium:debezium-connector-postgres``, both from
Maven Central, the connector in a plugin folder of its own (Connect's class-loader
isolation) without the Kafka jars the runtime already provides. Measured here on 2 cores:
jars resolved in 2-4 s with Maven's cache warm; the whole stack test (PostgreSQL, the
worker, the connector's snapshot and three changes) in 13-15 s.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pipelines.devenv.broker import free_port, process
from pipelines.devenv.broker.kafka import (
    KAFKA_VERSION,
    LOG4J_VERSION,
    cache_root,
    java_executable,
    log4j2_properties,
)
from pipelines.devenv.maven import resolve_jars

DEBEZIUM_VERSION = "3.6.1.Final"

_RUNTIME_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamwise</groupId><artifactId>connect-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_PLUGIN_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamwise</groupId><artifactId>debezium-postgres</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.debezium</groupId><artifactId>debezium-connector-postgres</artifactId>
      <version>{debezium}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
"""
"""The Kafka and logging APIs are the runtime's: a second copy in the plugin would be
loaded by the plugin's class loader and clash with the runtime's own classes."""


class ConnectError(RuntimeError):
    """Kafka Connect did not start, or a connector did not run."""


@dataclass(frozen=True)
class ConnectWorker:
    """A running Connect worker: its REST ``url`` and its process (leader of its group)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def put_connector(self, name: str, config: dict[str, str]) -> None:
        """Create or reconfigure connector ``name`` (``PUT /connectors/{name}/config``)."""
        response = httpx.put(f"{self.url}/connectors/{name}/config", json=config, timeout=30)
        if response.is_error:
            msg = f"Connect refused connector {name!r}: {response.status_code} {response.text}"
            raise ConnectError(msg)

    def restart_connector(self, name: str) -> None:
        """Restart connector ``name`` and its tasks, as an operator does after a config fix."""
        url = f"{self.url}/connectors/{name}/restart?includeTasks=true"
        response = httpx.post(url, timeout=30)
        if response.is_error:
            msg = f"Connect refused to restart {name!r}: {response.status_code} {response.text}"
            raise ConnectError(msg)

    def wait_running(self, name: str, *, within_s: float = 60.0) -> None:
        """Block until the connector and all its tasks are ``RUNNING``; a ``FAILED`` one raises."""
        deadline = time.monotonic() + within_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = httpx.get(f"{self.url}/connectors/{name}/status", timeout=10)
            if response.is_success:
                status = response.json()
                states = [status["connector"]["state"]] + [t["state"] for t in status["tasks"]]
                if "FAILED" in states:
                    trace = next(
                        (t.get("trace", "") for t in status["tasks"] if t.get("trace")), ""
                    )
                    first = trace.splitlines()[0] if trace else "no trace"
                    msg = f"connector {name!r} failed: {first}"
                    raise ConnectError(msg)
                if status["tasks"] and set(states) == {"RUNNING"}:
                    return
            time.sleep(0.5)
        msg = f"connector {name!r} not running within {within_s:.0f}s: {status}"
        raise ConnectError(msg)


def connect_classpath() -> Path:
    """The folder of Kafka Connect's runtime jars (resolved once)."""
    return resolve_jars(
        _RUNTIME_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION),
        cache_root() / f"connect-{KAFKA_VERSION}" / "jars",
        required=(f"connect-runtime-{KAFKA_VERSION}.jar", f"connect-json-{KAFKA_VERSION}.jar"),
        what=f"Kafka Connect {KAFKA_VERSION}", error=ConnectError,
        without_maven="install it (Debian: maven)",
    )  # fmt: skip


def debezium_plugins() -> Path:
    """A Connect ``plugin.path`` holding the Debezium PostgreSQL connector (resolved once)."""
    root = cache_root() / f"debezium-{DEBEZIUM_VERSION}" / "plugins"
    resolve_jars(
        _PLUGIN_POM.format(debezium=DEBEZIUM_VERSION), root / "debezium-connector-postgres",
        required=(f"debezium-connector-postgres-{DEBEZIUM_VERSION}.jar",),
        what=f"Debezium {DEBEZIUM_VERSION}", error=ConnectError,
        without_maven="install it (Debian: maven)",
    )  # fmt: skip
    return root


@contextmanager
def running_connect(
    bootstrap: str, folder: Path, *, ready_within_s: float = 120.0
) -> Iterator[ConnectWorker]:
    """A distributed-mode worker on ``bootstrap`` until the block ends (then stopped).

    Its group and internal topics are named afresh each time, so workers started on one
    shared broker never join each other's group or read each other's offsets.
    """
    run = uuid.uuid4().hex[:8]
    port, log_path = free_port(), folder / "connect.log"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log4j2.properties").write_text(
        log4j2_properties(log_path, "org.apache.kafka.connect.runtime.Worker")
    )
    worker = folder / "worker.properties"
    worker.write_text("\n".join([
        f"bootstrap.servers={bootstrap}",
        f"group.id=streamwise-connect-{run}",
        "key.converter=org.apache.kafka.connect.json.JsonConverter",
        "value.converter=org.apache.kafka.connect.json.JsonConverter",
        *(f"{kind}.storage.topic=connect-{run}-{kind}s" for kind in ("config", "offset", "status")),
        *(f"{kind}.storage.replication.factor=1" for kind in ("config", "offset", "status")),
        "offset.flush.interval.ms=1000",
        f"listeners=http://127.0.0.1:{port}",
        f"plugin.path={debezium_plugins()}",
        "",
    ]))  # fmt: skip
    logging_config = f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}"
    argv = [java_executable(), "-Xmx512m", logging_config, "-cp", f"{connect_classpath()}/*",
            "org.apache.kafka.connect.cli.ConnectDistributed", str(worker)]  # fmt: skip
    child = process.spawn(argv, log_path=folder / "connect.out")
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until_answering(child, f"{url}/connector-plugins", folder / "connect.out",
                                     what="Kafka Connect", ready_within_s=ready_within_s,
                                     error=ConnectError)  # fmt: skip
        yield ConnectWorker(url, child, log_path)
    finally:
        process.stop(child, grace_s=20)


def debezium_postgres_config(
    *, host: str, port: int, user: str, database: str, prefix: str, tables: str, partitions: int
) -> dict[str, str]:
    """The connector config streamwise is tested with: Debezium's defaults but for these.

    ``pgoutput`` is PostgreSQL's built-in logical decoding plugin (no server extension to
    install); the topics Connect creates get ``partitions`` like streamwise's own.
    """
    slot = re.sub(r"[^a-z0-9_]", "_", prefix.lower())  # PostgreSQL's rule for slot names
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": host, "database.port": str(port), "database.user": user,
        "database.password": "unused", "database.dbname": database,
        "topic.prefix": prefix, "plugin.name": "pgoutput", "table.include.list": tables,
        "slot.name": f"{slot}_slot", "publication.name": f"{slot}_publication",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.partitions": str(partitions),
    }  # fmt: skip
