"""Apache Kafka in KRaft mode as one local process: jars from Maven Central, Java 17+.

Kafka is not packaged for Debian or PyPI, so the official jars are resolved once
with Maven into a cache and run with the machine's Java. One combined node
(broker + controller) with replication factors of 1 and no initial rebalance
delay: the same broker users run in production, tuned for a fast single machine.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.devenv.broker.errors import BrokerError
from pipelines.devenv.broker.security import SecureListener
from pipelines.devenv.maven import resolve_jars

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.24.3"  # the version kafka 4.1.1 itself depends on
MIN_JAVA = 17

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>streamwise</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.info.name = {info_logger}
logger.info.level = INFO
"""


def log4j2_properties(log: Path, info_logger: str) -> str:
    """A quiet log4j2 config for a Java child: warnings to ``log``, and ``info_logger``'s
    INFO lines (the one that says it started)."""
    return _LOG4J2.format(log=log, info_logger=info_logger)


def cache_root() -> Path:
    """Where downloaded runtimes live: ``$STREAMWISE_CACHE_DIR`` or the XDG cache."""
    explicit = os.environ.get("STREAMWISE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "streamwise"


def java_executable() -> str:
    """The ``java`` to run Kafka with, checked to be version 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        msg = "Java 17+ not found (needed by the embedded Kafka); install it or use --engine tansu"
        raise BrokerError(msg)
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if not match or int(match.group(1)) < MIN_JAVA:
        found = match.group(1) if match else "unknown"
        msg = f"embedded Kafka needs Java {MIN_JAVA}+, found version {found} at {java}"
        raise BrokerError(msg)
    return java


REQUIRED_JARS = (f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar", f"kafka-tools-{KAFKA_VERSION}.jar")
"""The broker and its command-line tools (``kafka-acls``): a cache without one is resolved again."""


def kafka_jars(cache: Path | None = None) -> Path:
    """The folder of Kafka's runtime jars, resolved through Maven on first use."""
    return resolve_jars(
        _POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, log4j=LOG4J_VERSION),
        (cache or cache_root()) / f"kafka-{SCALA_VERSION}-{KAFKA_VERSION}" / "jars",
        required=REQUIRED_JARS, what=f"Apache Kafka {KAFKA_VERSION}", error=BrokerError,
        without_maven="install it or use --engine tansu",
    )  # fmt: skip


@dataclass(frozen=True)
class KafkaNode:
    """Files and command line of one single-node KRaft cluster in ``home``."""

    home: Path
    port: int
    controller_port: int
    heap_mb: int = 768
    security: SecureListener | None = None
    """A SASL_SSL client listener instead of the plaintext one."""
    log_dir: Path | None = None
    """Where its logs go (``home`` by default): a data dir keeps them after the broker stops."""
    advertised_port: int | None = None
    """The port clients are told to connect to (``port`` by default): a proxy's, say."""

    @property
    def properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def log_file(self) -> Path:
        return (self.log_dir or self.home) / "kafka.log"

    @property
    def formatted(self) -> bool:
        """Its log dir was formatted by an earlier start (``meta.properties`` is there)."""
        return (self.home / "data" / "meta.properties").exists()

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.advertised_port or self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "1",
            # A produce to a missing topic must fail, not create a one-partition, delete-policy
            # topic that breaks joins and expires profiles: streamwise creates every topic
            # from its registry, so anything else auto-creating is a mistake to surface.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        if self.security is not None:
            settings.update(self.security.server_properties(self.port, self.controller_port))
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        (self.home / "log4j2.properties").write_text(
            log4j2_properties(
                (self.log_dir or self.home) / "kafka-server.log", "kafka.server.KafkaRaftServer"
            )
        )

    def format_command(self, java: str, jars: Path) -> list[str]:
        # "=" binds the value: a random id may start with "-", which argparse reads as a flag
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        users = self.security.format_args() if self.security is not None else []
        return [*self._java(java, jars, heap_mb=256), "kafka.tools.StorageTool", "format",
                f"--cluster-id={cluster_id}", "-c", str(self.properties), *users]  # fmt: skip

    def run_command(self, java: str, jars: Path) -> list[str]:
        return [*self._java(java, jars, heap_mb=self.heap_mb), "kafka.Kafka", str(self.properties)]

    def _java(self, java: str, jars: Path, *, heap_mb: int) -> list[str]:
        return [
            java,
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{jars}/*",
        ]


def kafka_tool_command(main_class: str) -> list[str]:
    """The command line of one of Kafka's own tools (``org.apache.kafka.tools.AclCommand``,
    ...) from the cached jars: what its ``bin/*.sh`` script runs."""
    java, jars = java_executable(), kafka_jars()
    return [java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", f"{jars}/*", main_class]
