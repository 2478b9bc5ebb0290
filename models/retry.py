"""Retry with exponential backoff and jitter, as an object adapters are given.

Adapters take a ``Retry`` instead of hard-coding a loop so that tests can pass one with
a no-op ``sleep`` (nothing waits) and deployments can tune attempts per backend.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from models.errors import ModelUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """Call a function up to ``attempts`` times, sleeping between failed attempts.

    The n-th wait (n = 0, 1, ...) is ``min(max_delay_s, base_delay_s * 2**n)`` scaled by
    a random factor in ``[1 - jitter, 1 + jitter]`` and capped again at ``max_delay_s``,
    so that many workers failing together do not retry in lockstep.
    """

    attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    jitter: float = 0.2
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            msg = f"attempts must be at least 1, got {self.attempts!r}"
            raise ValueError(msg)
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            msg = f"delays must not be negative, got {self.base_delay_s!r}, {self.max_delay_s!r}"
            raise ValueError(msg)
        if not 0 <= self.jitter <= 1:
            msg = f"jitter must be within [0, 1], got {self.jitter!r}"
            raise ValueError(msg)

    def delay(self, retry_index: int) -> float:
        """Seconds to wait before retry number ``retry_index`` (0 = first retry)."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2.0**retry_index)
        factor = 1 + self.jitter * (2 * self.rand() - 1)
        return min(self.max_delay_s, backoff * factor)

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (ModelUnavailable,),
    ) -> T:
        """Return ``fn()``, retrying on ``retry_on``; re-raise the last error when out of tries.

        Exceptions not in ``retry_on`` propagate at once: retrying a bad request or a
        schema violation would only repeat it.
        """
        for retry_index in range(self.attempts - 1):
            try:
                return fn()
            except retry_on as exc:
                wait = self.delay(retry_index)
                logger.info(
                    "attempt %d/%d failed, retrying in %.2fs: %s",
                    retry_index + 1,
                    self.attempts,
                    wait,
                    exc,
                )
                self.sleep(wait)
        return fn()
