"""The state volume fills up under a running fraud pipeline.

The state directory lives on a small tmpfs; mid-stream another file takes the rest of
the space, as a neighbour on a shared volume would. The pipeline must stop with one
clear line, without committing, and a restart once there is room again must recover
the state from the changelog and miss no alert.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL
from tests.faults import figures
from tests.fraud.transactions import feed
from tests.kafkaio import read
from tests.processes import start_pipeline, stop, stopped_in_one_line

VOLUME_MB = 64


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A ``VOLUME_MB`` tmpfs (needs root, as the Makefile's package installs do)."""
    mount = tmp_path / "volume"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MB}m", "tmpfs", str(mount)],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def test_a_full_state_disk_stops_in_one_line_and_a_restart_recovers(
    settings: StreamwiseSettings, tmp_path: Path, small_volume: Path
) -> None:
    settings = settings.model_copy(update={"data_dir": small_volume / "data"})
    stream = generate(n_cards=300, days=2, seed=17)
    half = len(stream.transactions) // 2
    log = tmp_path / "fraud.log"
    feed(settings, stream, 0, half // 2)
    fraud = start_pipeline(settings, log)
    read(settings, "fraud-alerts", until=lambda r: len(r) >= 1, timeout_s=120)
    filler = small_volume / "neighbour.bin"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", f"count={VOLUME_MB}"],
                   check=False, capture_output=True)  # fmt: skip
    feed(settings, stream, half // 2, half)
    code = fraud.wait(120)
    line = stopped_in_one_line(code, log)
    assert "no space left" in line.lower(), line

    filler.unlink()  # room again: the operator freed or grew the volume
    feed(settings, stream, half, len(stream.transactions))
    again, catch_up = start_pipeline(settings, log), figures.CatchUp()
    catch_up.heal()
    try:
        records = read(
            settings, "fraud-alerts", timeout_s=180, idle_s=5,
            until=catch_up.until(lambda r: {x.json()["alert_id"] for x in r} >= stream.expected),
        )  # fmt: skip
    finally:
        assert stop(again) == 0, log.read_text()[-3000:]
    travel = [r.json()["alert_id"] for r in records if r.json()["rule"] == IMPOSSIBLE_TRAVEL]
    dead = read(settings, "fraud-dlq", timeout_s=2)
    figures.record("state volume full, restarted with room", "fraud", "at-least-once",
                   expected=stream.expected, delivered=travel, dead_lettered=len(dead),
                   catch_up=catch_up)  # fmt: skip
    assert set(travel) == stream.expected, "no alert lost, no state corrupted"
    assert dead == []
