"""A rebalance storm under fraud: replicas join and leave (SIGTERM and SIGKILL) every few
seconds while a generated stream flows; every expected alert comes out, repeats only as
byte-identical copies, nothing dead-lettered."""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path

from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import generate
from pipelines.fraud.rules import IMPOSSIBLE_TRAVEL
from tests.faults import figures
from tests.fraud.delivery import assert_delivered
from tests.fraud.transactions import feed
from tests.kafkaio import read
from tests.production.test_scale_out import Replica

STORM_STEPS = 8
STEP_S = 4.0


def test_replicas_joining_and_leaving_every_few_seconds_lose_no_alert(
    settings: StreamwiseSettings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"partitions": 4})
    stream = generate(n_cards=400, days=2, seed=13)
    total = len(stream.transactions)
    cuts = [total * i // (STORM_STEPS + 2) for i in range(STORM_STEPS + 3)]
    feed(settings, stream, 0, cuts[1])
    names = (f"r{i}" for i in itertools.count())
    steady = Replica(settings, next(names), tmp_path)  # stays up: someone always works
    steady.wait_ready()
    churn: list[Replica] = []
    catch_up = figures.CatchUp()
    try:
        for step in range(STORM_STEPS):
            feed(settings, stream, cuts[step + 1], cuts[step + 2])
            if step % 3 == 2 and churn:  # leave: alternately killed and stopped
                leaving, sig = churn.pop(0), signal.SIGKILL if step % 2 else signal.SIGTERM
                leaving.process.send_signal(sig)
                code = leaving.process.wait(60)
                assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 0), (
                    leaving.log.read_text()[-2000:]
                )
            else:
                churn.append(Replica(settings, next(names), tmp_path))
            time.sleep(STEP_S)
        feed(settings, stream, cuts[STORM_STEPS + 1], total)
        catch_up.heal()  # the storm is over
        records = read(
            settings, "fraud-alerts", timeout_s=240, idle_s=5,
            until=catch_up.until(lambda r: {x.json()["alert_id"] for x in r} >= stream.expected),
        )  # fmt: skip
    finally:
        for replica in [steady, *churn]:
            replica.process.send_signal(signal.SIGTERM)
        codes = [replica.process.wait(60) for replica in [steady, *churn]]
    logs = {r.name: r.log.read_text() for r in [steady, *churn]}
    assert codes == [0] * len(codes), {n: t[-2000:] for n, t in logs.items()}
    travel = [r.json() for r in records if r.json()["rule"] == IMPOSSIBLE_TRAVEL]
    dead = read(settings, "fraud-dlq", timeout_s=2)
    figures.record("rebalance storm (join/leave every 4 s)", "fraud", "at-least-once",
                   expected=stream.expected, delivered=[a["alert_id"] for a in travel],
                   dead_lettered=len(dead), catch_up=catch_up)  # fmt: skip
    assert_delivered(records, stream.expected)
    assert dead == []
    assert not any("Traceback" in text for text in logs.values())
