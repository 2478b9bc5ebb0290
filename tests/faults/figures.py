"""A fault scenario's figures for ``bench/faults``: one JSON line each, when it asks.

With ``STREAMWISE_FAULT_FIGURES`` set (``python -m bench.faults`` sets it) every scenario
appends what it saw: the outputs the ground truth expects, those delivered, repeats,
dead letters, and the seconds from the heal (the service back, the partition lifted) to
the moment every expected output had arrived. Without it nothing is written.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from tests.kafkaio import Record

FIGURES_ENV = "STREAMWISE_FAULT_FIGURES"


@dataclass
class CatchUp:
    """When a read's condition first held, counted from ``heal()``."""

    healed: float | None = None
    caught_up: float | None = None

    def heal(self) -> None:
        self.healed = time.monotonic()

    def until(self, condition: Callable[[list[Record]], bool]) -> Callable[[list[Record]], bool]:
        """``condition``, noting the first time it holds."""

        def check(records: list[Record]) -> bool:
            held = condition(records)
            if held and self.caught_up is None:
                self.caught_up = time.monotonic()
            return held

        return check

    @property
    def seconds(self) -> float | None:
        if self.healed is None or self.caught_up is None:
            return None
        return max(0.0, self.caught_up - self.healed)


def record(
    fault: str, pipeline: str, guarantee: str, *, expected: set[str],
    delivered: Iterable[str], dead_lettered: int, catch_up: CatchUp,
) -> None:  # fmt: skip
    """Append this scenario's figures to ``$STREAMWISE_FAULT_FIGURES``, if it is set."""
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    counts = Counter(delivered)
    line = {
        "fault": fault, "pipeline": pipeline, "guarantee": guarantee,
        "expected": len(expected), "delivered": len(expected & set(counts)),
        "duplicated": sum(n - 1 for n in counts.values()), "dead_lettered": dead_lettered,
        "heal_to_caught_up_s": None if catch_up.seconds is None else round(catch_up.seconds, 1),
    }  # fmt: skip
    with open(path, "ab") as out:
        out.write(orjson.dumps(line) + b"\n")
