"""Child processes that never outlive streamwise.

Embedded brokers and helper servers run as children in their own process group,
with ``PR_SET_PDEATHSIG`` so the kernel kills them when we die, even by SIGKILL.
Stopping sends SIGTERM to the whole group and escalates to SIGKILL after a grace
period: no orphan JVMs holding ports after a crashed test run.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec (Linux only; a no-op elsewhere)."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a supervised child; its stdout and stderr go to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG
        )


def stop(process: subprocess.Popen[bytes], *, grace_s: float = 10.0) -> int | None:
    """Stop the child's whole process group: SIGTERM, then SIGKILL after ``grace_s``."""
    if process.poll() is not None:
        return process.returncode
    try:
        os.killpg(process.pid, signal.SIGTERM)
        return process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        logger.warning("pid %s ignored SIGTERM for %ss, killing it", process.pid, grace_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait()
    except ProcessLookupError:
        return process.wait()


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until_answering(
    child: subprocess.Popen[bytes],
    url: str,
    log_path: Path,
    *,
    what: str,
    ready_within_s: float,
    error: type[Exception],
) -> None:
    """Block until ``GET url`` answers 2xx; ``error`` with the log's tail if ``child`` exits,
    or with the last failure once ``ready_within_s`` has passed."""
    deadline = time.monotonic() + ready_within_s
    while True:
        if child.poll() is not None:
            msg = f"{what} exited with code {child.returncode}: {tail(log_path, 5)}"
            raise error(msg)
        try:
            httpx.get(url, timeout=1.0).raise_for_status()
            return
        except httpx.HTTPError as exc:
            if time.monotonic() > deadline:
                msg = f"{what} did not answer within {ready_within_s:.0f}s: {exc}"
                raise error(msg) from exc
            time.sleep(0.1)
