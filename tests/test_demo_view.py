"""The demo's live view prints outputs as data: bracketed text is never taken for markup."""

from __future__ import annotations

import io

from rich.console import Console

from pipelines.demo import LiveView
from pipelines.fraud.generator import generate
from pipelines.scenarios.fraud import FraudScenario


def test_masks_and_statuses_in_brackets_stay_visible() -> None:
    out = io.StringIO()
    view = LiveView(Console(file=out, width=200, color_system=None), total_events=1)

    view.line("answer q1 [rejected] 'Call me back on [phone] or at [email]' [card ****1111]")

    assert out.getvalue() == (
        "answer q1 [rejected] 'Call me back on [phone] or at [email]' [card ****1111]\n"
    )


def test_fraud_lines_are_plain_text_for_the_live_view() -> None:
    """The view prints lines as data, so a renderer's markup would show as '[red]...[/]'."""
    alert = {"rule": "velocity", "card_id": "c1", "severity": "medium",
             "reasons": ["6 transactions within 60 s"], "note": "Check it."}  # fmt: skip
    watch = FraudScenario(generate(n_cards=2, days=1, seed=1)).watch
    assert watch["fraud-alerts"](alert) == (
        "FRAUD medium velocity          c1: 6 transactions within 60 s"
    )
    assert watch["fraud-alerts-triaged"](alert) == "TRIAGE c1: Check it. (0 similar earlier)"
