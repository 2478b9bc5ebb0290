"""Events too late for their window, counted and summed up instead of one line each.

Quix logs a warning for every event that reaches a window after it closed. After an
outage, a rejoin replays a checkpoint's worth of events into windows that have since
closed, and the log fills with hundreds of identical lines. ``LateEvents`` is the
window's ``on_late`` callback: it counts each one (``streamwise_late_events_total``) and
logs at most one line per ``every_s``, with how many and how late, and what to change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pipelines.common.metrics import LATE_EVENTS

logger = logging.getLogger("streamwise.late")


class LateEvents:
    """The ``on_late`` callback of the window ``window``; ``grace_setting`` names the knob."""

    def __init__(
        self,
        window: str,
        grace_setting: str,
        *,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window, self._grace_setting = window, grace_setting
        self._every_s, self._clock = every_s, clock
        self._logged_at: float | None = None
        self._unlogged, self._latest_by_ms = 0, 0

    def __call__(  # noqa: PLR0917 - Quix's WindowOnLateCallback, positional
        self,
        value: Any,
        key: Any,
        timestamp_ms: int,
        late_by_ms: int,
        start: int,
        end: int,
        store_name: str,
        topic: str,
        partition: int,
        offset: int,
    ) -> bool:
        """Count one late event; ``False`` tells Quix not to log it itself."""
        LATE_EVENTS.labels(self._window).inc()
        self._unlogged += 1
        self._latest_by_ms = max(self._latest_by_ms, late_by_ms)
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= self._every_s:
            logger.warning(
                "window=%s %d event(s) arrived after their window closed (late by up to "
                "%.0f s): counted, not aggregated; raise %s if such delays are normal",
                self._window, self._unlogged, self._latest_by_ms / 1000, self._grace_setting,
            )  # fmt: skip
            self._logged_at, self._unlogged, self._latest_by_ms = now, 0, 0
        return False
