"""Requests per minute per caller: a sliding window, so a burst cannot double the rate.

``serve`` gives every token (or, without tokens, every client address) its own window
of ``STREAMWISE_SERVE_RATE`` requests per 60 s; past it the request is refused with
``429`` and the seconds until the oldest one leaves the window. Pure apart from the
clock, which tests pass in.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0
SWEEP_AT = 10_000
"""Callers tracked before idle ones are forgotten."""


class RateLimiter:
    """At most ``per_minute`` requests per key in any 60 s; thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._clock = per_minute, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """None if ``key`` may go ahead now (and count it); else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            if len(self._seen) >= SWEEP_AT:
                self._forget_idle(now)
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - WINDOW_S:
                seen.popleft()
            if len(seen) >= self._limit:
                return max(1, math.ceil(seen[0] + WINDOW_S - now))
            seen.append(now)
            return None

    def tracked(self) -> int:
        """How many callers have a window now (memory is bounded by this)."""
        with self._lock:
            return len(self._seen)

    def _forget_idle(self, now: float) -> None:
        """Drop callers with nothing in the window: one window per address ever seen would
        grow without end on a public ``serve``."""
        for key in [k for k, seen in self._seen.items() if not seen or seen[-1] <= now - WINDOW_S]:
            del self._seen[key]
