"""What a newcomer types in the first hour, in every order they may type it.

``streamwise produce`` before any pipeline exists, a pipeline before any data, and a
topic someone else created with the wrong shape: every order ends with the expected
output and the topics exactly as the registry declares them, or with one line that
names the fix. Real CLI processes on the real embedded Kafka (which, like a careful
production cluster, does not auto-create topics).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pipelines.common.clients import client_config
from pipelines.common.settings import StreamwiseSettings
from tests.kafkaio import Record, lag, read
from tests.processes import cli, pipeline_env, start_pipeline, stop, wait_for

CUSTOMER = {"card_id": "c-1", "customer_id": "cu-1", "home_country": "GB"}
LONDON = {"txn_id": "t-1", "card_id": "c-1", "ts": "2026-11-22T10:00:00Z", "lat": 51.5074,
          "lon": -0.1278, "amount": 20.0, "currency": "GBP", "merchant": "Tesco",
          "country": "GB", "channel": "card_present"}  # fmt: skip
PARIS = {**LONDON, "txn_id": "t-2", "ts": "2026-11-22T10:00:40Z", "lat": 48.8566,
         "lon": 2.3522, "currency": "EUR", "merchant": "Fnac", "country": "FR"}  # fmt: skip
FEEDBACK = {"feedback_id": "f-1", "ts": "2026-11-22T10:00:00Z", "source": "email",
            "text": "The app crashes every time I open my statement."}  # fmt: skip
KB_CHANGE = {"doc_id": "refunds", "version": 1, "op": "upsert", "ts": "2026-11-22T10:00:00Z",
             "title": "Refunds", "text": "Refunds are paid within 30 days."}  # fmt: skip

INPUTS = {
    "customers": [CUSTOMER],
    "transactions": [LONDON, PARIS],
    "feedback": [FEEDBACK],
    "kb-changes": [KB_CHANGE],
}


class Deployment:
    """One user's deployment on the shared broker: CLI calls and one running pipeline."""

    def __init__(self, settings: StreamwiseSettings, tmp_path: Path, pipeline: str) -> None:
        self.settings, self.tmp_path, self.pipeline = settings, tmp_path, pipeline
        self.env = pipeline_env(settings)
        self.log = tmp_path / f"{pipeline}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def produce(self, topic: str) -> None:
        lines = tmp_path_file(self.tmp_path, topic, INPUTS[topic])
        result = cli("produce", topic, str(lines), env=self.env)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr

    def run(self) -> None:
        self.process = start_pipeline(self.settings, self.log, self.pipeline)
        wait_for(
            lambda: "running as consumer group" in self.log.read_text(errors="replace"),
            timeout_s=180,
            what=lambda: f"{self.pipeline} to start:\n{self.log.read_text(errors='replace')}",
        )

    def step(self, what: str) -> None:
        self.run() if what == "run" else self.produce(what)

    def check_topics(self) -> None:
        result = cli("topics", "--check", env=self.env)
        assert result.returncode == 0, result.stderr
        # Each client creates only the topics it uses: the others may not exist yet.
        assert re.fullmatch(
            r"every topic (on the broker )?matches the registry( \(\d+ not created yet\))?",
            result.stdout.strip(),
        ), result.stdout

    def close(self) -> None:
        if self.process is not None:
            assert stop(self.process) == 0, self.log.read_text(errors="replace")


def tmp_path_file(tmp_path: Path, topic: str, events: list[dict[str, object]]) -> Path:
    path = tmp_path / f"{topic}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    return path


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, settings: StreamwiseSettings, tmp_path: Path
) -> Iterator[Deployment]:
    running = Deployment(settings, tmp_path, request.param)
    try:
        yield running
    finally:
        running.close()


def _impossible_travel(records: list[Record]) -> bool:
    return any(r.json()["rule"] == "impossible_travel" for r in records)


@pytest.mark.parametrize(
    ("deployment", "steps"),
    [
        ("fraud", ["transactions", "run", "customers"]),
        ("fraud", ["customers", "run", "transactions"]),
        ("fraud", ["customers", "transactions", "run"]),
        ("fraud", ["run", "customers", "transactions"]),
    ],
    indirect=["deployment"],
    ids=["transactions-first", "customers-first", "both-then-run", "run-then-produce"],
)
def test_fraud_flags_london_to_paris_whatever_the_order(
    deployment: Deployment, steps: list[str]
) -> None:
    for step in steps:
        deployment.step(step)
    alerts = read(deployment.settings, "fraud-alerts", until=_impossible_travel, timeout_s=60)
    [alert] = [r.json() for r in alerts if r.json()["rule"] == "impossible_travel"]
    assert alert["txn_ids"] == ["t-1", "t-2"]
    assert alert["card_id"] == "c-1"
    deployment.check_topics()


@pytest.mark.parametrize(
    ("deployment", "steps"),
    [("feedback", ["feedback", "run"]), ("feedback", ["run", "feedback"])],
    indirect=["deployment"],
    ids=["produce-first", "run-first"],
)
def test_feedback_is_enriched_whatever_the_order(deployment: Deployment, steps: list[str]) -> None:
    for step in steps:
        deployment.step(step)
    [enriched] = read(deployment.settings, "feedback-enriched", until=bool, timeout_s=120)
    assert enriched.json()["feedback_id"] == "f-1"
    assert enriched.json()["sentiment"] == "negative"
    deployment.check_topics()


@pytest.mark.parametrize(
    ("deployment", "steps"),
    [("knowledge", ["kb-changes", "run"]), ("knowledge", ["run", "kb-changes"])],
    indirect=["deployment"],
    ids=["produce-first", "run-first"],
)
def test_a_kb_change_is_indexed_whatever_the_order(
    deployment: Deployment, steps: list[str]
) -> None:
    from pipelines.knowledge.index import KnowledgeIndex  # noqa: PLC0415 - loads the embedder
    from pipelines.knowledge.settings import KnowledgeSettings  # noqa: PLC0415

    for step in steps:
        deployment.step(step)
    wait_for(
        lambda: sum(lag(deployment.settings, "knowledge", "kb-changes").values()) == 0,
        timeout_s=120,
        what="the knowledge pipeline to commit the change",
    )
    deployment.close()  # embedded Chroma: read it once the writer has stopped
    deployment.process = None
    index = KnowledgeIndex.open(deployment.settings, KnowledgeSettings())
    applied = index.manifest(["refunds"]).documents
    assert applied["refunds"].version == 1
    deployment.check_topics()


def test_a_mispartitioned_topic_is_one_line_naming_the_fix(settings: StreamwiseSettings) -> None:
    admin = AdminClient(client_config(settings))
    prefix = settings.topic_prefix
    created = admin.create_topics([NewTopic(prefix + "transactions", 1, 1)])
    for future in created.values():
        future.result()
    env = pipeline_env(settings)

    check = cli("topics", "--check", env=env)
    run = cli("run", "fraud", env=env, timeout_s=180)

    assert check.returncode == 1
    assert f"mismatch: {prefix}transactions: 1 partition(s), STREAMWISE_PARTITIONS is 2" in (
        check.stderr
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [line] = [line for line in run.stderr.splitlines() if "error" in line]
    assert line == (
        f"streamwise run: error: pipeline fraud cannot use its topics: {prefix}transactions + "
        f"{prefix}customers: joined by key but not co-partitioned: {prefix}transactions (1), "
        f"{prefix}customers (2) partitions; fix: recreate {prefix}transactions with 2 "
        "partitions (delete, then 'STREAMWISE_PARTITIONS=2 streamwise topics --create')"
    )


def test_a_profile_topic_kept_under_delete_is_refused(settings: StreamwiseSettings) -> None:
    admin = AdminClient(client_config(settings))
    name = settings.topic_prefix + "customers"
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        future.result()

    run = cli("run", "fraud", env=pipeline_env(settings), timeout_s=180)

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert (
        f"cannot use its topics: {name}: cleanup.policy is 'delete', the registry says "
        f"'compact'; fix: kafka-configs.sh --alter --entity-type topics --entity-name {name} "
        "--add-config cleanup.policy=compact"
    ) in run.stderr
