"""The demo's live view prints outputs as data: bracketed text is never taken for markup."""

from __future__ import annotations

import io

from rich.console import Console

from pipelines.demo import LiveView


def test_masks_and_statuses_in_brackets_stay_visible() -> None:
    out = io.StringIO()
    view = LiveView(Console(file=out, width=200, color_system=None), total_events=1)

    view.line("answer q1 [rejected] 'Call me back on [phone] or at [email]' [card ****1111]")

    assert out.getvalue() == (
        "answer q1 [rejected] 'Call me back on [phone] or at [email]' [card ****1111]\n"
    )
