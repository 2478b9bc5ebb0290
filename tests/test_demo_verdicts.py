"""The demo's analysts on the real broker: fraud-quality's precision is the hand count.

The demo's own loop (``run_stream``) drives a small fraud stream through the real
``fraud`` and ``fraud-quality`` processes while the simulated analysts answer each
alert with a verdict. Two alerts on genuine purchases are added (as a rule with false
positives would raise them), so that the precision to agree on is not simply 1.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from pipelines.common.clients import create_registry_topics
from pipelines.common.events import FraudAlert
from pipelines.common.settings import StreamwiseSettings
from pipelines.demo import LiveView, run_stream, start_pipelines, wait_until_consuming
from pipelines.devenv.broker import process
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL, VELOCITY
from pipelines.scenarios.analysts import latest_cumulative
from pipelines.scenarios.base import Send
from pipelines.scenarios.fraud import FraudScenario


def false_positives(demo: FraudScenario, start: datetime) -> list[Send]:
    """Two velocity alerts on purchases that were genuine: analysts call them legitimate."""
    truth = demo.analysts.truth
    genuine = [t for t in demo.stream.transactions if truth.verdict([t.txn_id]) != "fraud"]
    sends = []
    for n, tx in enumerate(genuine[:2]):
        alert = FraudAlert(
            alert_id=f"fp-{n}", rule=VELOCITY, card_id=tx.card_id, txn_ids=[tx.txn_id],
            ts=start + timedelta(hours=n + 1), severity="medium", reasons=["test: genuine"],
        )  # fmt: skip
        sends.append(Send("fraud-alerts", tx.card_id, alert.to_json_dict(), at_s=1.0 + n))
    return sends


def test_simulated_verdicts_give_fraud_quality_the_precision_counted_by_hand(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    demo = FraudScenario(generate(n_cards=30, days=1, seed=1, start=start), pace=0.1)
    demo.pipelines = ("fraud", "fraud-quality")  # triage's LLM notes are not counted
    events = sorted([*demo.events(4.0), *false_positives(demo, start)], key=lambda s: s.at_s)
    create_registry_topics(settings)
    children = start_pipelines(settings, list(demo.pipelines), tmp_path / "logs")
    out = io.StringIO()
    try:
        wait_until_consuming(settings, list(children), children, timeout_s=90)
        view = LiveView(Console(file=out, width=200, color_system=None), len(events))
        outputs = run_stream(settings, [demo], events, view, children, idle_s=3, max_s=45)
    finally:
        for child in children.values():
            process.stop(child, grace_s=10)

    hand = demo.analysts.counts()
    reported = latest_cumulative(outputs.get("fraud-quality", []))
    assert set(hand) == {IMPOSSIBLE_TRAVEL, VELOCITY}, out.getvalue()
    for rule, (verdicts, confirmed) in hand.items():
        record = reported[rule]
        assert (record["verdicts"], record["confirmed"]) == (verdicts, confirmed), rule
        assert record["alerts"] == verdicts  # every alert judged
        assert record["precision"] == confirmed / verdicts
    assert reported[IMPOSSIBLE_TRAVEL]["precision"] == 1.0
    assert 0 < reported[VELOCITY]["precision"] < 1.0  # the two genuine ones
    assert len(outputs["fraud-verdicts"]) == sum(v for v, _ in hand.values())
    summary = demo.summary(outputs)
    assert sum(line.endswith(": agree") for line in summary) == 2, summary
    assert "VERDICT " in out.getvalue()
    assert "QUALITY velocity: precision" in out.getvalue()
