"""Crash safety: SIGKILL the fraud pipeline mid-stream, restart it, lose nothing.

Runs ``streamwise run fraud`` as a real process, the way users run it.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from pipelines.common.settings import ProcessingGuarantee, StreamwiseSettings
from pipelines.fraud.generator import generate
from tests.fraud.delivery import assert_delivered
from tests.fraud.transactions import feed
from tests.kafkaio import read
from tests.processes import start_pipeline


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_sigkill_mid_stream_then_restart_loses_no_alert(
    settings: StreamwiseSettings, tmp_path: Path, guarantee: ProcessingGuarantee
) -> None:
    settings = settings.model_copy(update={"processing_guarantee": guarantee})
    stream = generate(n_cards=600, days=3, seed=5)
    warmup = len(stream.transactions) // 10
    feed(settings, stream, 0, warmup)
    log = tmp_path / "fraud.log"
    isolation = "read_committed" if guarantee == "exactly-once" else "read_uncommitted"

    middle = (warmup + len(stream.transactions)) // 2
    first = start_pipeline(settings, log)
    try:
        # once it is up and alerting, send half of the rest and kill it while it works
        # through that; the other half arrives while it is down, so the kill is mid-stream
        # however fast the pipeline drains
        seen = read(settings, "fraud-alerts", until=lambda r: len(r) >= 1, timeout_s=90,
                    isolation="read_uncommitted")  # fmt: skip
        assert seen, log.read_text()[-2000:]
        feed(settings, stream, warmup, middle)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    feed(settings, stream, middle, len(stream.transactions))

    second = start_pipeline(settings, log)
    try:
        records = read(
            settings, "fraud-alerts", isolation=isolation, timeout_s=120, idle_s=5,
            until=lambda r: {x.json()["alert_id"] for x in r} >= stream.expected,
        )  # fmt: skip
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0, log.read_text()[-2000:]

    assert_delivered(records, stream.expected, guarantee)
