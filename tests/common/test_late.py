"""Late events for a window: counted, and summed up in at most one line a minute."""

from __future__ import annotations

import logging

import pytest

from pipelines.common.late import LateEvents
from pipelines.common.metrics import LATE_EVENTS


def test_a_replay_into_closed_windows_is_one_line_a_minute_not_one_per_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="streamwise.late")
    now = [0.0]
    late = LateEvents("test-window", "FEEDBACK_WINDOW_GRACE", clock=lambda: now[0])
    counted = LATE_EVENTS.labels("test-window")._value.get()

    logged = []
    for at, late_by_ms in [(0, 1000), (1, 44_000), (2, 3000), (61, 2000), (62, 500)]:
        now[0] = at
        logged.append(late({}, "k", 0, late_by_ms, 0, 60_000, "insights", "t", 0, at))

    assert logged == [False] * 5, "Quix logs none of them itself"
    assert [r.getMessage() for r in caplog.records] == [
        "window=test-window 1 event(s) arrived after their window closed (late by up to 1 s): "
        "counted, not aggregated; raise FEEDBACK_WINDOW_GRACE if such delays are normal",
        "window=test-window 3 event(s) arrived after their window closed (late by up to 44 s): "
        "counted, not aggregated; raise FEEDBACK_WINDOW_GRACE if such delays are normal",
    ]
    assert LATE_EVENTS.labels("test-window")._value.get() == counted + 5
