"""The command line as a user meets it: help that reads well, one-line errors, real sends."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pipelines import cli
from pipelines.common.clients import client_config
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import all_topics
from tests.kafkaio import read
from tests.processes import cli as streamwise

VERBS = ["broker", "run", "demo", "produce", "ask", "serve", "dashboard", "topics", "token", "lake"]


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


def test_a_bug_is_one_line_with_its_traceback_kept_in_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fault injection: a verb whose handler fails in a way nobody foresaw."""

    def broken_parser() -> argparse.ArgumentParser:
        def crash(_args: argparse.Namespace) -> int:
            raise RuntimeError("table collections already exists")

        parser = argparse.ArgumentParser(prog="streamwise")
        parser.add_argument("verb", choices=["run"])
        parser.set_defaults(handler=crash)
        return parser

    monkeypatch.setenv("STREAMWISE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli, "build_parser", broken_parser)

    code = cli.main(["run"])

    [line] = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert line.startswith(
        "streamwise run: internal error: RuntimeError: table collections already exists "
        "(a bug: the traceback is in "
    )
    [crash_log] = (tmp_path / "logs").glob("crash-run-*.log")
    assert str(crash_log) in line
    assert "Traceback" in crash_log.read_text()
    assert "raise RuntimeError" in crash_log.read_text()


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
        [sys.executable, "-m", "pipelines.cli", "produce", "feedback", "-"],
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
    assert len(rows) == len(all_topics())  # the contract's and every pipeline's dead letters


def test_topics_shows_what_the_broker_holds_and_create_warns(settings: StreamwiseSettings) -> None:
    """An auto-created-looking ``customers`` (1 partition, delete, 7 days) shows as it is."""
    admin = AdminClient(client_config(settings))
    name = settings.topic_prefix + "customers"
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result()

    listing = streamwise("topics", env=_env(settings))
    create = streamwise("topics", "--create", env=_env(settings))

    rows = {line.split()[0]: line.split()[1:] for line in listing.stdout.splitlines()[1:]}
    assert rows[name] == ["1", "0", "delete", "7d"]
    assert listing.returncode == 0
    assert f"mismatch: {name}: cleanup.policy is 'delete', the registry says 'compact'" in (
        listing.stderr
    )
    assert create.returncode == 1
    assert f"mismatch: {name}: 1 partition(s), STREAMWISE_PARTITIONS is 2" in create.stderr


def test_ask_with_an_empty_question_is_refused_at_once_and_publishes_nothing(
    settings: StreamwiseSettings,
) -> None:
    result = streamwise("ask", "", "--timeout", "60", env=_env(settings))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "streamwise ask: error: invalid Question: text: String should have at least 1 "
        "character (got '')"
    ]
    assert read(settings, "questions", timeout_s=2) == []


def test_produce_given_a_folder_is_one_line(settings: StreamwiseSettings, tmp_path: Path) -> None:
    result = streamwise("produce", "transactions", str(tmp_path), env=_env(settings))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"streamwise produce: error: cannot read {tmp_path}: Is a directory"
    ]


def test_a_replication_factor_above_the_broker_count_is_one_line(
    settings: StreamwiseSettings,
) -> None:
    env = {**_env(settings), "STREAMWISE_REPLICATION_FACTOR": "3"}
    result = streamwise("topics", "--create", env=env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"streamwise topics: error: cannot create {settings.topic_prefix}transactions with "
        "STREAMWISE_REPLICATION_FACTOR=3: the cluster has fewer brokers"
    )
    assert line.endswith("lower it to at most the broker count")


def test_topics_piped_into_head_ends_quietly(settings: StreamwiseSettings) -> None:
    pipe = subprocess.run(
        f"{sys.executable} -m pipelines.cli topics | head -1",
        shell=True, capture_output=True, text=True, env={**os.environ, **_env(settings)},
        timeout=60, check=False,
    )  # fmt: skip
    assert pipe.stdout.split() == ["topic", "partitions", "messages", "cleanup", "retention"]
    assert pipe.stderr == ""


@pytest.mark.parametrize("verb", [("produce", "feedback", "-"), ("ask", "hello"), ("serve",)])
def test_a_closed_broker_port_is_one_line_within_seconds(verb: tuple[str, ...]) -> None:
    result = streamwise(*verb, env={"STREAMWISE_BROKER": "127.0.0.1:1"}, timeout_s=40)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"streamwise {verb[0]}: error: broker 127.0.0.1:1 did not answer within 10s "
        "(Failed to get metadata: Local: Broker transport failure)"
    ]


def test_the_broker_keeps_its_log_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    broker = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "broker", "--engine", "tansu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "STREAMWISE_DATA_DIR": str(data)},
    )  # fmt: skip
    try:
        assert broker.stdout is not None
        assert broker.stderr is not None
        address = broker.stdout.readline().strip()
        ready = broker.stderr.readline()
        assert address.startswith("127.0.0.1:")
        assert f"logs in {data / 'logs' / 'tansu.log'}" in ready
    finally:
        broker.terminate()
        assert broker.wait(30) == 0
    assert (data / "logs" / "tansu.log").exists()


def test_token_new_prints_the_token_once_and_the_file_keeps_only_its_hash(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    env = {"STREAMWISE_AUTH_TOKENS_FILE": str(tokens)}
    first = streamwise("token", "new", "agent-7", "staff", env=env)
    second = streamwise("token", "new", "app-c1", "customer:c-1", env=env)
    assert (first.returncode, second.returncode) == (0, 0)
    token = first.stdout.strip()
    assert len(token) >= 40
    assert token not in tokens.read_text()
    assert [line.split()[:2] for line in tokens.read_text().splitlines()] == [
        ["agent-7", "staff"], ["app-c1", "customer:c-1"]
    ]  # fmt: skip
    assert first.stderr == f"streamwise token: agent-7 (staff) added to {tokens}\n"


@pytest.mark.parametrize(
    ("args", "env", "reason"),
    [
        (("x", "admin"), True, "scope 'admin' is neither 'staff' nor 'customer:<customer_id>'"),
        (("x", "staff"), False, "set STREAMWISE_AUTH_TOKENS_FILE to the tokens file to append to"),
    ],
)
def test_token_new_refuses_in_one_line(
    tmp_path: Path, args: tuple[str, str], env: bool, reason: str
) -> None:
    tokens = {"STREAMWISE_AUTH_TOKENS_FILE": str(tmp_path / "tokens")} if env else {}
    result = streamwise("token", "new", *args, env=tokens)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"streamwise token: error: {reason}\n"


@pytest.mark.parametrize("verb", ["serve", "dashboard"])
def test_without_tokens_an_http_verb_listens_on_loopback_only(verb: str) -> None:
    refused = streamwise(verb, "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 1
    assert refused.stderr == (
        f"streamwise {verb}: error: refusing to listen on 0.0.0.0 without "
        "STREAMWISE_AUTH_TOKENS_FILE: anyone who reaches it could ask for any customer; "
        "make tokens with 'streamwise token new' or pass --insecure-no-auth\n"
    )
    allowed = streamwise(verb, "--host", "0.0.0.0", "--insecure-no-auth", timeout_s=30,
                         env={"STREAMWISE_BROKER": "127.0.0.1:1"})  # fmt: skip
    assert "refusing to listen" not in allowed.stderr
    assert "with no authentication (--insecure-no-auth)" in allowed.stderr


def test_token_new_starts_a_line_of_its_own_after_a_hand_edited_file(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# staff of the Paris branch")  # no newline at the end
    env = {"STREAMWISE_AUTH_TOKENS_FILE": str(tokens)}
    assert streamwise("token", "new", "agent-7", "staff", env=env).returncode == 0
    assert streamwise("token", "new", "agent-8", "staff", env=env).returncode == 0
    names = [line.split()[0] for line in tokens.read_text().splitlines()[1:]]
    assert names == ["agent-7", "agent-8"]
