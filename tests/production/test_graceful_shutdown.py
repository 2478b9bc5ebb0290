"""Graceful shutdown: SIGTERM commits the last checkpoint and exits; a restart repeats nothing.

And when a step hangs, SIGTERM still ends the process once the grace period is over.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from pipelines.common.settings import StreamwiseSettings
from pipelines.common.streamwise_app import EXIT_GRACE_EXCEEDED
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL
from tests.fraud.transactions import LONDON, feed, txn
from tests.kafkaio import produce, read
from tests.processes import create_topics, pipeline_env, start_pipeline, stop


def test_sigterm_mid_stream_then_restart_emits_every_alert_exactly_once(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    stream = generate(n_cards=600, days=3, seed=5)
    warmup = len(stream.transactions) // 10
    feed(settings, stream, 0, warmup)
    log = tmp_path / "fraud.log"

    first = start_pipeline(settings, log)
    try:
        seen = read(settings, "fraud-alerts", until=lambda r: len(r) >= 1, timeout_s=90)
        assert seen, log.read_text()[-2000:]
        feed(settings, stream, warmup, len(stream.transactions))
    finally:
        assert stop(first) == 0, log.read_text()[-2000:]
    before = {r.json()["alert_id"] for r in read(settings, "fraud-alerts", timeout_s=3)}
    assert len(before & stream.expected) < len(stream.expected), (
        "SIGTERM came too late to be mid-stream: use a longer stream"
    )

    second = start_pipeline(settings, log)
    try:
        records = read(
            settings, "fraud-alerts", timeout_s=120, idle_s=5,
            until=lambda r: {x.json()["alert_id"] for x in r} >= stream.expected,
        )  # fmt: skip
    finally:
        assert stop(second) == 0, log.read_text()[-2000:]

    alerts = [r.json() for r in records]
    ids = Counter(a["alert_id"] for a in alerts)
    assert {a["alert_id"] for a in alerts if a["rule"] == IMPOSSIBLE_TRAVEL} == stream.expected
    assert [i for i, n in ids.items() if n > 1] == [], "the committed checkpoint was replayed"


def test_sigterm_ends_a_hung_step_after_the_grace_period_without_committing(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    create_topics(settings)
    produce(settings, "transactions", [("card-h", txn("h1", "card-h", timedelta(0), LONDON))])
    env = pipeline_env(settings, {"STREAMWISE_SHUTDOWN_GRACE_S": "1"})
    stuck = subprocess.Popen(
        [sys.executable, "-m", "tests.production.stuck_pipeline"],
        env=env, stdout=subprocess.PIPE, stderr=(tmp_path / "stuck.log").open("wb"),
    )  # fmt: skip
    try:
        assert stuck.stdout is not None
        assert stuck.stdout.readline() == b"stuck\n", (tmp_path / "stuck.log").read_text()
    finally:
        code = stop(stuck)
    assert code == EXIT_GRACE_EXCEEDED
    assert "exiting without committing" in (tmp_path / "stuck.log").read_text()
