"""``python -m bench.faults``: the fault scenarios of ``tests/faults``, with their figures.

Each scenario injects its fault into a real part (Kafka, Chroma, Ollama, the network, the
state volume) while a stream with ground truth flows, heals it, and compares the outputs
with what the input implies. The ground truth is the baseline, in the same run: a
scenario passes only with every expected output delivered. The table adds what the tests
only bound: repeats, dead letters, and the seconds from the heal to the last expected
output (the service back, the partition lifted, the storm over).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from bench.results import write_section

FIGURES_ENV = "STREAMWISE_FAULT_FIGURES"  # tests/faults/figures.py reads the same name
SUMMARY = (
    "Each fault hits a real part while a stream with ground truth flows (`tests/faults`). "
    "The ground truth is the baseline: `expected` outputs, all of which must be `delivered`. "
    "`heal to caught up` runs from the heal (service restarted, partition lifted, storm "
    "over, room on the volume) to the last expected output."
)


def run_scenarios(figures: Path) -> int:
    """Run ``tests/faults`` with figures written to ``figures``; pytest's exit code."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"],
        env={**os.environ, FIGURES_ENV: str(figures)}, check=False,
    ).returncode  # fmt: skip


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| fault, mid-stream | pipeline | guarantee | expected | delivered | repeats | "
        "dead letters | heal to caught up |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        seconds = row["heal_to_caught_up_s"]
        lines.append(
            f"| {row['fault']} | {row['pipeline']} | {row['guarantee']} | {row['expected']} | "
            f"{row['delivered']} | {row['duplicated']} | {row['dead_lettered']} | "
            f"{'-' if seconds is None else f'{seconds} s'} |"
        )
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        figures = Path(work) / "figures.jsonl"
        code = run_scenarios(figures)
        lines = figures.read_bytes().splitlines() if figures.exists() else []
        rows = [orjson.loads(line) for line in lines]
    verdict = "every scenario passed" if code == 0 else f"FAILURES (pytest exit code {code})"
    body = f"{SUMMARY}\n\n{table(rows)}\n\n{verdict}."
    write_section("faults", body)
    print(table(rows))
    return code


if __name__ == "__main__":
    sys.exit(main())
