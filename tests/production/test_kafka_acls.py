"""Least privilege on Kafka for real: SCRAM users, the StandardAuthorizer, ACLs by kafka-acls.

The embedded Kafka denies whatever no ACL allows (``allow.everyone.if.no.acl.found=false``).
An operator (a super user) creates the topics and runs the script ``streamwise acls``
prints with Kafka's own ``kafka-acls`` tool; then fraud, feedback, knowledge and rag each
run end to end under a principal of their own, first at-least-once, then exactly-once
with the lines that switch adds. A pipeline run under another's principal, and a
pipeline principal reading its own dead letters, are refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from pipelines.common.acls import DLQ_READER_GROUP
from pipelines.common.settings import KAFKA_PASSTHROUGH_PREFIX, StreamwiseSettings
from pipelines.devenv.broker import RunningBroker, SaslSsl, embedded_broker, kafka_tool_command
from pipelines.devenv.chroma_server import ChromaServer
from tests.fraud.transactions import LONDON, PARIS, T0, txn
from tests.kafkaio import produce, read
from tests.knowledge.conftest import change
from tests.processes import cli, start_pipeline, stop
from tests.production.scrape import get
from tests.state.conftest import chroma_server

__all__ = ["chroma_server"]

PIPELINES = ("fraud", "feedback", "knowledge", "rag")
ADMIN, DLQ_READER = "admin", "streamwise-dlq-reader"
POISON = b'{"txn_id": "poison", "card_id": 42'
"""Not JSON: fraud dead-letters it, keeping the bytes as they came."""
REFUNDS = "Refunds are paid within 30 days of the returned item reaching our warehouse."


def kafka_env(config: dict[str, str]) -> dict[str, str]:
    """librdkafka settings as the ``STREAMWISE_KAFKA_*`` variables a deployment would set."""
    return {KAFKA_PASSTHROUGH_PREFIX + k.upper().replace(".", "_"): v for k, v in config.items()}


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    names = [ADMIN, DLQ_READER, *(f"streamwise-{p}" for p in PIPELINES)]
    security = SaslSsl(
        users={name: uuid.uuid4().hex for name in names}, authorize=True, admins=(ADMIN,)
    )
    with embedded_broker(
        "kafka", workdir=tmp_path_factory.mktemp("acl-kafka"), security=security
    ) as running:
        yield running


@dataclass(frozen=True)
class Deployment:
    broker: RunningBroker
    settings: StreamwiseSettings
    home: Path

    def env_of(self, user: str) -> dict[str, str]:
        """The environment of a process that logs in as ``user``, and only as ``user``."""
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(KAFKA_PASSTHROUGH_PREFIX)
        }
        return {**inherited, **kafka_env(self.broker.secure.client_config(user)),
                "STREAMWISE_BROKER": self.broker.address,
                "STREAMWISE_TOPIC_PREFIX": self.settings.topic_prefix,
                "STREAMWISE_PARTITIONS": str(self.settings.partitions),
                "STREAMWISE_DATA_DIR": str(self.settings.data_dir),
                "STREAMWISE_CHROMA_HOST": str(self.settings.chroma_host)}  # fmt: skip

    def acls(self, guarantee: str) -> list[str]:
        """``streamwise acls`` for the four pipelines, as the operator runs it."""
        env = {**self.env_of(ADMIN), "STREAMWISE_PROCESSING_GUARANTEE": guarantee}
        printed = []
        for pipeline in PIPELINES:
            done = cli(
                "acls", "--pipeline", pipeline, "--dlq-reader", f"User:{DLQ_READER}", env=env
            )
            assert done.returncode == 0, done.stderr
            printed += done.stdout.splitlines()
        return printed

    def grant(self, lines: list[str]) -> None:
        """Run the printed lines as a shell script, ``kafka-acls.sh`` being Kafka's own tool."""
        bin_dir = self.home / "bin"
        bin_dir.mkdir(exist_ok=True)
        tool = bin_dir / "kafka-acls.sh"
        argv = " ".join(
            f"'{arg}'" for arg in kafka_tool_command("org.apache.kafka.tools.AclCommand")
        )
        tool.write_text(f'#!/bin/sh\nexec {argv} "$@"\n')
        tool.chmod(0o755)
        admin_config = self.home / "admin.properties"
        admin_config.write_text(self.broker.secure.java_client_properties(ADMIN))
        script = self.home / "acls.sh"
        script.write_text("set -e\n" + "\n".join(lines) + "\n")
        done = subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                 "KAFKA_BOOTSTRAP": self.broker.address, "KAFKA_ADMIN_CONFIG": str(admin_config)},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def deployment(
    acl_broker: RunningBroker, chroma_server: ChromaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("acl-deployment")
    settings = StreamwiseSettings(
        broker=acl_broker.address, data_dir=home / "data", topic_prefix="acl.", partitions=2,
        chroma_host=chroma_server.address,
    )  # fmt: skip
    found = Deployment(acl_broker, settings, home)
    created = cli("topics", "--create", env=found.env_of(ADMIN))  # the operator's job
    assert created.returncode == 0, created.stderr
    found.grant(found.acls("at-least-once"))
    # This test process speaks as the operator: it produces the inputs and reads the outputs.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in kafka_env(acl_broker.secure.client_config(ADMIN)).items():
            patch.setenv(name, value)
        yield found


def _feed(settings: StreamwiseSettings, run: str) -> None:
    """One case per pipeline, ids marked with ``run``."""
    card, customer, doc = f"card-{run}", f"u-{run}", f"refunds-{run}"
    produce(settings, "customers", [(card, {"card_id": card, "customer_id": customer,
                                            "home_country": "GB"})],
            timestamp_ms=int((T0 - timedelta(days=1)).timestamp() * 1000))  # fmt: skip
    produce(settings, "transactions", [
        (card, txn(f"{run}-1", card, timedelta(0), LONDON)),
        (card, txn(f"{run}-2", card, timedelta(seconds=40), PARIS)),
    ])  # fmt: skip
    now = datetime.now(UTC).isoformat()
    produce(settings, "feedback", [
        (f"fb-{run}-{i}", {"feedback_id": f"fb-{run}-{i}", "ts": now, "source": "email",
                           "text": text})
        for i, text in enumerate(["The refund took forever.", "Delivery was quick, thanks!"])
    ])  # fmt: skip
    produce(settings, "kb-changes", [(doc, change(doc, 1, REFUNDS, title="Refund policy"))])
    produce(settings, "questions", [(f"q-{run}", {
        "question_id": f"q-{run}", "text": "How many days until I get my refund?", "ts": now,
        "customer_id": customer, "min_versions": {doc: 1}, "wait_s": 60,
    })])  # fmt: skip


def _scrape(settings: StreamwiseSettings) -> dict[str, str]:
    """``/metrics`` and the health pages of every pipeline, at the ports they announced."""
    pages = {}
    for announced in (settings.data_dir / "run").glob("*.metrics-port"):
        port = int(announced.read_text())
        for path in ("/metrics", "/livez", "/readyz"):
            status, body = get(port, path)
            assert status == 200, (announced.name, path, body)
            pages[f"{announced.stem}{path}"] = body
    assert len(pages) == 3 * len(PIPELINES), sorted(pages)
    return pages


def _outputs(settings: StreamwiseSettings, run: str, isolation: str) -> dict[str, object]:
    def mine(topic: str, field: str, want: int) -> list[dict[str, Any]]:
        records = read(
            settings, topic, isolation=isolation, timeout_s=240,
            until=lambda rs: sum(run in str(r.json()[field]) for r in rs) >= want,
        )  # fmt: skip
        return [r.json() for r in records if run in str(r.json()[field])]

    return {
        "alerts": [a["txn_ids"] for a in mine("fraud-alerts", "txn_ids", 1)],
        "enriched": sorted(e["feedback_id"] for e in mine("feedback-enriched", "feedback_id", 2)),
        # The question waits for this run's document (min_versions); both runs' say the same.
        "answers": [(a["status"], {c["doc_id"].startswith("refunds-") for c in a["citations"]})
                    for a in mine("answers", "question_id", 1)],
    }  # fmt: skip


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_every_pipeline_runs_under_its_own_least_privilege_principal(
    deployment: Deployment, guarantee: str
) -> None:
    if guarantee == "exactly-once":  # what an operator adds when switching: transactional ids
        granted = set(deployment.acls("at-least-once"))
        added = [line for line in deployment.acls(guarantee) if line not in granted]
        assert added
        assert all("--transactional-id" in line for line in added if line[0] != "#")
        deployment.grant(added)
    run = "eos" if guarantee == "exactly-once" else "alos"
    logs = {p: deployment.home / f"{p}-{run}.log" for p in PIPELINES}
    processes = {
        p: start_pipeline(deployment.settings, logs[p], p, env={
            **deployment.env_of(f"streamwise-{p}"), "STREAMWISE_PROCESSING_GUARANTEE": guarantee,
            "STREAMWISE_METRICS_PORT": "0", "STREAMWISE_LOG_LEVEL": "INFO",
        })
        for p in PIPELINES
    }  # fmt: skip
    try:
        _feed(deployment.settings, run)
        produce(deployment.settings, "transactions", [(f"card-{run}", POISON)])
        isolation = "read_committed" if guarantee == "exactly-once" else "read_uncommitted"
        found = _outputs(deployment.settings, run, isolation)
        served = _scrape(deployment.settings)
    finally:
        codes = {p: stop(process) for p, process in processes.items()}
    text = {p: log.read_text() for p, log in logs.items()}
    assert codes == dict.fromkeys(PIPELINES, 0), {p: text[p][-1500:] for p in PIPELINES}
    assert found == {
        "alerts": [[f"{run}-1", f"{run}-2"]],
        "enriched": [f"fb-{run}-0", f"fb-{run}-1"],
        "answers": [("ok", {True})],
    }
    assert [p for p in PIPELINES if "uthoriz" in text[p]] == []
    poisoned = 2 if run == "eos" else 1  # one per run, in the same deployment
    dead = read(
        deployment.settings, "fraud-dlq", timeout_s=30, isolation=isolation,
        until=lambda rs: [r.value for r in rs].count(POISON) >= poisoned,
    )  # fmt: skip
    assert [r.value for r in dead] == [POISON] * poisoned
    for pipeline in ("feedback", "knowledge", "rag"):
        assert read(deployment.settings, f"{pipeline}-dlq", timeout_s=1) == []

    # Secrets stay where they belong: no password in anything the run wrote or served.
    written = [*logs.values(), *(f for f in deployment.settings.data_dir.rglob("*") if f.is_file())]
    headers = [value for record in dead for value in record.headers.values()]
    for password in deployment.broker.secure.sasl.users.values():
        assert [f for f in written if password.encode() in f.read_bytes()] == []
        assert [b for b in headers if password.encode() in b] == []
        assert [page for page in served.values() if password in page] == []
    # Metric labels carry no card or customer ids.
    assert re.findall(r"\{[^}]*(?:card-|u-)" + run, "\n".join(served.values())) == []


def test_a_pipeline_outside_its_acls_fails_with_one_line(deployment: Deployment) -> None:
    done = cli("run", "rag", env=deployment.env_of("streamwise-fraud"), timeout_s=180)
    assert done.returncode == 1, done.stderr[-2000:]
    [line] = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("streamwise run: error: ")
    assert "not authorized" in line
    assert "Traceback" not in done.stderr


def _first_message_error(
    deployment: Deployment, user: str, group: str, topic: str
) -> KafkaError | None:
    """What reading ``topic`` from the start as ``user`` in ``group`` meets: an error, or None."""
    prefix = deployment.settings.topic_prefix
    consumer = Consumer({
        "bootstrap.servers": deployment.broker.address,
        **deployment.broker.secure.client_config(user),
        "group.id": prefix + group, "enable.auto.commit": False,
    })  # fmt: skip
    name = prefix + topic
    try:
        consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in range(2)])
        for _ in range(50):
            message = consumer.poll(0.2)
            if message is not None and message.error() is not None:
                return message.error()
        return None
    finally:
        consumer.close()


def test_dead_letters_are_read_by_their_reader_only(deployment: Deployment) -> None:
    # The pipeline writes its dead letters, in its own group, and cannot read them back.
    refused = _first_message_error(deployment, "streamwise-fraud", "streamwise-fraud", "fraud-dlq")
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _first_message_error(deployment, DLQ_READER, DLQ_READER_GROUP, "fraud-dlq") is None
