"""``make bench``: every benchmark, one after the other (they must not share the 2 cores)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("bench.fraud", "bench.feedback", "bench.knowledge")


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        module = importlib.import_module(name if "." in name else f"bench.{name}")
        print(f"== {module.__name__}", flush=True)
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
