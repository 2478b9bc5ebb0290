"""Secure Kafka for real: the embedded Kafka with a SASL_SSL listener (SCRAM users, a throwaway CA).

A pipeline runs through it with nothing but ``STREAMWISE_KAFKA_*`` settings; a
wrong password and a client that does not trust the CA each get a one-line
reason from the CLI in seconds, not a metadata timeout or a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.common.settings import KAFKA_PASSTHROUGH_PREFIX, StreamwiseSettings
from pipelines.devenv.broker import RunningBroker, SaslSsl, embedded_broker
from tests.fraud.transactions import LONDON, PARIS, txn
from tests.kafkaio import produce, read
from tests.processes import create_topics, start_pipeline, stop


def kafka_env(config: dict[str, str]) -> dict[str, str]:
    """librdkafka settings as the ``STREAMWISE_KAFKA_*`` variables a deployment would set."""
    return {KAFKA_PASSTHROUGH_PREFIX + k.upper().replace(".", "_"): v for k, v in config.items()}


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    security = SaslSsl(users={"streamwise": uuid.uuid4().hex}, mechanism="SCRAM-SHA-512")
    workdir = tmp_path_factory.mktemp("secure-kafka")
    with embedded_broker("kafka", workdir=workdir, security=security) as running:
        yield running


def test_fraud_runs_through_sasl_ssl_configured_from_the_environment(
    secure_broker: RunningBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secure_broker.client_config["security.protocol"] == "SASL_SSL"
    for name, value in kafka_env(secure_broker.client_config).items():
        monkeypatch.setenv(name, value)  # this test's own clients and the pipeline's
    settings = StreamwiseSettings(
        broker=secure_broker.address, data_dir=tmp_path / "data", topic_prefix="secure.",
        partitions=1,
    )  # fmt: skip
    create_topics(settings)
    produce(settings, "transactions", [
        ("card-s", txn("s1", "card-s", timedelta(0), LONDON)),
        ("card-s", txn("s2", "card-s", timedelta(seconds=40), PARIS)),
    ])  # fmt: skip
    log = tmp_path / "fraud.log"
    fraud = start_pipeline(settings, log, env={"STREAMWISE_LOG_LEVEL": "INFO"})
    try:
        alerts = read(settings, "fraud-alerts", until=lambda r: len(r) >= 1, timeout_s=90)
    finally:
        assert stop(fraud) == 0, log.read_text()[-2000:]
    assert [a.json()["txn_ids"] for a in alerts] == [["s1", "s2"]]

    # Nothing the run wrote holds the password: its log, its state, its files.
    password = secure_broker.client_config["sasl.password"].encode()
    written = [log, *(f for f in settings.data_dir.rglob("*") if f.is_file())]
    assert [f for f in written if password in f.read_bytes()] == []


@pytest.mark.parametrize("verb", [["topics"], ["run", "fraud"]])
@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        ({"sasl.password": "not-the-password"}, "SASL authentication error"),
        ({"ssl.ca.location": ""}, "certificate verify failed"),  # trusts only the system CAs
    ],
    ids=["wrong-password", "untrusted-ca"],
)
def test_a_refused_client_fails_fast_with_a_one_line_reason(
    secure_broker: RunningBroker, tmp_path: Path, verb: list[str], break_it: dict[str, str],
    reason: str,
) -> None:  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(KAFKA_PASSTHROUGH_PREFIX)},
        **kafka_env({**secure_broker.client_config, **break_it}),
        "STREAMWISE_BROKER": secure_broker.address,
        "STREAMWISE_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *verb],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    passwords = {secure_broker.client_config["sasl.password"], break_it.get("sasl.password")}
    assert [p for p in passwords if p and p in done.stderr + done.stdout] == []
    [line] = done.stderr.splitlines()
    assert line.startswith(f"streamwise {verb[0]}: error: broker {secure_broker.address} refused")
    assert reason in line
