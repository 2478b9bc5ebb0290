"""Pipelines as real processes, as users run them: ``streamwise run PIPELINE`` with env vars."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pipelines.common.clients import create_registry_topics
from pipelines.common.settings import StreamwiseSettings

T = TypeVar("T")


def pipeline_env(
    settings: StreamwiseSettings, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a pipeline process deployed as ``settings`` describes."""
    env = {
        **os.environ,
        "STREAMWISE_BROKER": str(settings.broker),
        "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
        "STREAMWISE_PARTITIONS": str(settings.partitions),
        "STREAMWISE_DATA_DIR": str(settings.data_dir),
        "STREAMWISE_PROCESSING_GUARANTEE": settings.processing_guarantee,
    }
    return {**env, **(extra or {})}


def cli(
    *args: str, env: Mapping[str, str] | None = None, stdin: str = "", timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """``streamwise ARGS`` as a user types it, with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True, text=True, input=stdin, env={**os.environ, **(env or {})},
        timeout=timeout_s, check=False,
    )  # fmt: skip


def start_pipeline(
    settings: StreamwiseSettings,
    log: Path,
    pipeline: str = "fraud",
    *,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``streamwise run pipeline``; its output is appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", pipeline],
            env=pipeline_env(settings, env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_for(
    check: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str | Callable[[], str],
    poll_s: float = 0.2,
) -> T:
    """Poll ``check`` until it returns something other than None/False; fail after ``timeout_s``.

    ``what`` names the wait in the failure; a callable is asked only then (e.g. a log's tail).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result is not None and result is not False:
            return result
        time.sleep(poll_s)
    msg = f"timed out after {timeout_s:.0f}s waiting for {what() if callable(what) else what}"
    raise AssertionError(msg)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
    """Send ``sig`` (SIGTERM by default) and wait for the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout_s)


def stopped_in_one_line(code: int, log: Path) -> str:
    """The one ``streamwise run: error:`` line of a pipeline that stopped with ``code``,
    checked to be exit 1 and free of tracebacks."""
    text = log.read_text()
    assert code == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    [line] = [ln for ln in text.splitlines() if ln.startswith("streamwise run: error:")]
    return line


def create_topics(settings: StreamwiseSettings) -> None:
    """Create every topic up front, with the deployment's partition count.

    The embedded broker does not auto-create topics, so a test that produces first
    needs them; and a reader subscribed before a pipeline creates its output topic may
    not see it until its next metadata refresh (minutes).
    """
    create_registry_topics(settings)
