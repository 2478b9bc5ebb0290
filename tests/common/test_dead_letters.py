"""The shared dead-letter mechanism, on the real broker: poison out, good events through.

An outage is not poison: a stage retries it with backoff instead (no broker needed).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.retry import Retry
from pipelines.common.app import make_app
from pipelines.common.dlq import OUTAGE_BACKOFF, OutageOutlasted, stage
from pipelines.common.events import Transaction
from pipelines.common.outage import WAITING_OUT
from pipelines.common.settings import StreamwiseSettings
from tests.fraud.transactions import txn
from tests.kafkaio import produce, read


def _echo_unless_boom(txn: Transaction) -> dict[str, str]:
    if txn.txn_id == "boom":
        msg = "handler exploded on purpose"
        raise RuntimeError(msg)
    return {"txn_id": txn.txn_id}


def test_poison_goes_to_the_dlq_with_headers_while_good_events_come_out(
    settings: StreamwiseSettings,
) -> None:
    missing_card = txn("no-card")
    del missing_card["card_id"]
    malformed = b'{"txn_id": "broken", '
    produce(
        settings,
        "transactions",
        [
            ("card-1", txn("good-1")),
            ("card-1", malformed),
            ("card-1", txn("good-2")),
            ("card-1", missing_card),
            ("card-1", txn("boom")),
            ("card-1", txn("good-3")),
        ],
    )
    pipeline = make_app("fraud", settings)
    sdf = pipeline.app.dataframe(pipeline.topic("transactions"))
    sdf = sdf.apply(stage("echo", _echo_unless_boom, attempts=2))
    pipeline.publish(sdf, "fraud-alerts")
    pipeline.app.run(timeout=5)

    out = read(settings, "fraud-alerts", until=lambda r: len(r) >= 3)
    assert [r.json()["txn_id"] for r in out] == ["good-1", "good-2", "good-3"]
    [source_partition] = {
        r.partition for r in read(settings, "transactions", until=lambda r: len(r) >= 6)
    }

    dead = read(settings, "fraud-dlq", until=lambda r: len(r) >= 3)
    assert len(dead) == 3
    undecodable = next(r for r in dead if r.value == malformed)
    assert undecodable.header("streamwise.stage") == "decode"
    assert undecodable.key == b"card-1"
    assert undecodable.header("streamwise.error").startswith("PoisonMessage: not valid JSON")

    invalid = next(r for r in dead if b"no-card" in (r.value or b""))
    assert invalid.header("streamwise.stage") == "decode"
    assert "card_id: Field required" in invalid.header("streamwise.error")

    raised = next(r for r in dead if r.header("streamwise.stage") == "echo")
    assert raised.json() == txn("boom")  # the original bytes, untouched
    assert raised.header("streamwise.error") == "RuntimeError: handler exploded on purpose"

    for record in dead:
        assert record.header("streamwise.pipeline") == "fraud"
        assert record.header("streamwise.source.topic") == settings.topic_prefix + "transactions"
        assert record.header("streamwise.source.partition") == str(source_partition)
    offsets = sorted(int(r.header("streamwise.source.offset")) for r in dead)
    assert offsets == [1, 3, 4]  # the poison's own offsets, nothing else


# --- outages: waited out with backoff, never dead-lettered ---------------------------------


def test_a_stage_waits_out_an_outage_and_then_returns_the_result() -> None:
    sleeps: list[float] = []
    calls: list[str] = []

    def flaky(txn_id: str) -> str:
        calls.append(txn_id)
        if len(calls) < 3:
            msg = "connection refused"
            raise ConnectionError(msg)
        return txn_id.upper()

    score = stage("score", flaky, retry=replace(OUTAGE_BACKOFF, sleep=sleeps.append))

    assert score("t1") == "T1"
    assert calls == ["t1", "t1", "t1"]
    assert len(sleeps) == 2


def test_an_outage_past_the_budget_stops_in_one_line_naming_stage_cause_and_remedy() -> None:
    refused = ConnectionError("connection refused")

    def down() -> None:
        raise refused

    with pytest.raises(OutageOutlasted) as raised:
        stage("score", down, outage_budget_s=0.0, retry=Retry(sleep=lambda _: None))()

    assert raised.value.__cause__ is refused
    assert str(raised.value) == (
        "stage 'score' waited out an outage for more than 0 s (connection refused); stopped "
        "without committing: start the pipeline again once it is back, it resumes where it "
        "stopped"
    )
    assert isinstance(raised.value, ConnectionError), "an outage still: never dead-lettered"


def test_stages_wait_as_long_as_the_process_budget_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each wait takes one second of a fake clock: retries at 0, 1 and 2 s, stopped at 3."""
    monkeypatch.setattr(WAITING_OUT, "budget_s", 2.0)
    now = [0.0]
    monkeypatch.setattr("pipelines.common.dlq.time.monotonic", lambda: now[0])
    sleeps: list[float] = []

    def wait(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += 1.0

    def down() -> None:
        raise TimeoutError("model server hung")

    with pytest.raises(OutageOutlasted, match="more than 2 s"):
        stage("answer", down, retry=Retry(sleep=wait))()

    assert len(sleeps) == 3, "retried while within the budget, then stopped"


@pytest.mark.parametrize("retry_index", range(10))
def test_outage_waits_are_half_to_all_of_a_backoff_doubling_from_half_a_second_to_30(
    retry_index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    backoff = min(30.0, 0.5 * 2**retry_index)
    waits = []
    for draw in (0.0, 0.5, 1.0 - 1e-12):
        monkeypatch.setattr("random.random", lambda draw=draw: draw)
        waits.append(OUTAGE_BACKOFF.delay(retry_index))

    assert waits == pytest.approx([backoff / 2, backoff * 3 / 4, backoff])
