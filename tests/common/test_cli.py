"""The command line as a user meets it: help that reads well, one-line errors, real sends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common.settings import StreamwiseSettings
from tests.kafkaio import read

VERBS = ["broker", "run", "demo", "produce", "ask", "serve", "dashboard", "topics"]


def streamwise(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.common.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def _env(settings: StreamwiseSettings) -> dict[str, str]:
    assert settings.broker
    return {
        "STREAMWISE_BROKER": settings.broker,
        "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
        "STREAMWISE_PARTITIONS": str(settings.partitions),
    }


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str) -> None:
    result = streamwise(verb, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: streamwise {verb}")
    assert result.stderr == ""


def test_top_level_help_lists_every_verb() -> None:
    result = streamwise("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")}
    assert set(VERBS) <= listed


def test_a_wrong_argument_is_one_line_and_exit_2() -> None:
    result = streamwise("broker", "--engine", "zookeeper")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "invalid choice: 'zookeeper'" in lines[0]


def test_an_unreachable_broker_is_one_line_not_a_traceback() -> None:
    result = streamwise("topics", env={"STREAMWISE_BROKER": "127.0.0.1:9"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "streamwise topics: error: broker 127.0.0.1:9 did not answer within 10s "
        "(Failed to get metadata: Local: Broker transport failure)"
    ]


def test_a_bad_setting_is_named() -> None:
    result = streamwise("topics", env={"STREAMWISE_PROCESSING_GUARANTEE": "maybe-once"})
    assert result.returncode == 2
    assert "STREAMWISE_PROCESSING_GUARANTEE" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [("FRAUD_KEEP_SIGHTINGS", "0",
      "bad setting FRAUD_KEEP_SIGHTINGS: Input should be greater than or equal to 1"),
     ("FRAUD_VELOCITY_KEEP", "3",
      "bad setting: FRAUD_VELOCITY_KEEP (3) must exceed FRAUD_VELOCITY_MAX (5): "
      "a burst is more than that many transactions")],
)  # fmt: skip
def test_a_bad_pipeline_setting_is_one_line_naming_the_variable_before_any_broker(
    variable: str, value: str, reason: str
) -> None:
    result = streamwise("run", "fraud", env={"STREAMWISE_BROKER": "127.0.0.1:9", variable: value})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"streamwise run: error: {reason}"]


def test_produce_without_a_broker_says_how_to_get_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "STREAMWISE_BROKER"}
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.common.cli", "produce", "feedback", "-"],
        capture_output=True, text=True, input="", env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "set STREAMWISE_BROKER" in result.stderr


def test_produce_validates_keys_and_sends_reporting_bad_lines(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    good = '{"feedback_id": "f1", "ts": "2026-11-22T10:00:00Z", "source": "email", "text": "ok"}'
    naive_ts = '{"feedback_id": "f2", "ts": "2026-11-22T10:00:00", "source": "email", "text": "x"}'
    lines = tmp_path / "feedback.jsonl"
    lines.write_text(f"{good}\n\n{naive_ts}\nnot json\n")

    result = streamwise("produce", "feedback", str(lines), env=_env(settings))

    assert result.returncode == 1
    assert (
        "line 3: rejected: invalid Feedback: ts: Input should have timezone info" in result.stderr
    )
    assert "line 4: rejected: not valid JSON" in result.stderr
    assert "sent 1 event(s) to" in result.stderr
    [record] = read(settings, "feedback", until=lambda r: len(r) >= 1)
    assert record.key == b"f1"
    assert record.value == good.encode()


def test_topics_lists_every_topic_with_its_state(settings: StreamwiseSettings) -> None:
    result = streamwise("topics", "--create", env=_env(settings))
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    assert table[0].split() == ["topic", "partitions", "messages", "cleanup", "retention"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert rows[settings.topic_prefix + "customers"] == ["2", "0", "compact", "forever"]
    assert rows[settings.topic_prefix + "fraud-dlq"] == ["2", "0", "delete", "30d"]
    assert len(rows) == 16
