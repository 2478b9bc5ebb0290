"""``make bench``: every benchmark, one after the other (they must not share the 2 cores).

Each runs as its own process, as ``python -m bench.<name>``, with its own defaults.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("fraud", "feedback", "learning_curve", "knowledge", "lake", "lake_library", "faults")
"""feedback runs its quality part too."""


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        print(f"== bench.{name}", flush=True)
        code = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
