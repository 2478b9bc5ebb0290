"""``bench/RESULTS.md``: one section per benchmark, rewritten in place, with machine notes."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
_HEADER = "# Benchmark results\n\nWritten by `make bench`; each section by its own benchmark.\n"


def percentile(values: Sequence[float], q: float) -> float:
    """The value at quantile ``q`` (0..1) of ``values``, nearest rank (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine_notes() -> str:
    """One line about where the figures come from: they mean little without it."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} cores ({cpu}) · "
        f"{mem_gib:.0f} GiB · Python {platform.python_version()} · commit {commit or '?'}"
    )


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section of benchmark ``name`` in RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else _HEADER
    section = (
        f"<!-- {name}:start -->\n## {name}\n\n_{machine_notes()}_\n\n{body.strip()}\n"
        f"<!-- {name}:end -->"
    )
    pattern = re.compile(
        rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S
    )
    text = pattern.sub(section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
    RESULTS.write_text(text)


def per_second_in_batches(call: Callable[[list[str]], object], texts: list[str],
                          batch: int = 32) -> float:  # fmt: skip
    """Texts per second of ``call`` over ``texts`` in batches of ``batch``."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        call(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)
