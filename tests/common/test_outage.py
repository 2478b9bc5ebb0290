"""Broker outages in two lines, from librdkafka's statistics; a changed cluster stops."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pipelines.common.outage import BrokerOutage, ClusterChanged


def stats(client: str, *states: str) -> dict[str, Any]:
    """A client's statistics with one known broker per state (bootstrap entries: nodeid -1)."""
    brokers = {f"b{i}": {"nodeid": i, "state": state} for i, state in enumerate(states, 1)}
    return {"name": client, "brokers": {"bootstrap": {"nodeid": -1, "state": "INIT"}, **brokers}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def outage_with(
    clusters: list[str | None], changed: list[ClusterChanged], clock: Clock
) -> BrokerOutage:
    """An outage whose probes answer ``clusters`` in turn, then the last one forever."""
    answers = iter(clusters)
    last = [clusters[-1]]
    return BrokerOutage(lambda: next(answers, last[0]), changed.append, clock=clock)


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="streamwise.outage")
    clock, changed = Clock(), []
    outage = outage_with(["c1", "c1"], changed, clock)
    refused = logging.makeLogRecord({"msg": 'Kafka consumer error: 127.0.0.1:9/1: Connect '
                                            'failed: Connection refused code="-195"'})  # fmt: skip
    other = logging.makeLogRecord({"msg": 'Kafka consumer error: Broker: Unknown member code="25"'})
    assert outage.filter(refused) is False, "per-attempt reports are dropped"
    assert outage.filter(other) is True, "other errors still show"

    outage.on_stats(stats("consumer", "UP"))
    outage.on_stats(stats("producer", "UP"))
    assert not outage.ongoing
    for _ in range(3):
        outage.on_stats(stats("consumer", "DOWN"))
    assert outage.ongoing
    clock.now = 42.0
    outage.on_stats(stats("producer", "CONNECT"))
    outage.on_stats(stats("consumer", "UP"))
    assert outage.ongoing, "the producer is still cut off"
    outage.on_stats(stats("producer", "UP"))
    assert not outage.ongoing
    assert [r.getMessage() for r in caplog.records] == [
        "broker unreachable: 127.0.0.1:9/1: Connect failed: Connection refused; waiting for it "
        "up to 240 s, then stopping without committing",
        "broker reachable again after 42 s",
    ]
    assert changed == []


def test_a_connection_owing_a_reply_for_over_ten_seconds_is_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A partition that leaves connections open: librdkafka still says UP (Toxiproxy
    measured: a fetch in flight, nothing received for 2, 4, ... 30 s)."""
    caplog.set_level(logging.WARNING, logger="streamwise.outage")
    clock = Clock()
    outage = outage_with(["c1"], [], clock)

    def fetching(received_ms_ago: int) -> dict[str, Any]:
        broker = {"nodeid": 1, "state": "UP", "waitresp_cnt": 1, "rxidle": received_ms_ago * 1000}
        return {"name": "consumer", "brokers": {"b1": broker}}

    outage.on_stats(fetching(300))
    outage.on_stats({"name": "producer", "brokers": {"b1": {  # idle: owes nothing
        "nodeid": 1, "state": "UP", "waitresp_cnt": 0, "rxidle": 60_000_000}}})  # fmt: skip
    assert not outage.ongoing
    outage.on_stats(fetching(9_000))
    assert not outage.ongoing
    outage.on_stats(fetching(11_000))
    assert not outage.ongoing, "once may be a request just sent on a long-idle connection"
    outage.on_stats(fetching(16_000))
    assert outage.ongoing
    clock.now = 30.0
    outage.on_stats(fetching(200))
    assert not outage.ongoing
    assert [r.getMessage() for r in caplog.records] == [
        "broker unreachable: no reply for over 10 s on an open connection; waiting for it up "
        "to 240 s, then stopping without committing",
        "broker reachable again after 30 s",
    ]


def test_a_stalled_client_whose_requests_timed_out_is_back_only_once_a_broker_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Seen in CI under a Toxiproxy partition: librdkafka timed the stalled fetch out (it
    owed nothing any more, still UP, nothing received), then dropped the connection; that
    read as "reachable again" and a second outage 23 ms later."""
    caplog.set_level(logging.WARNING, logger="streamwise.outage")
    clock = Clock()
    outage = outage_with(["c1"], [], clock)

    def consumer(owed: int, received_ms_ago: int, state: str = "UP") -> dict[str, Any]:
        broker = {"nodeid": 1, "state": state, "waitresp_cnt": owed,
                  "rxidle": received_ms_ago * 1000}  # fmt: skip
        return {"name": "consumer", "brokers": {"b1": broker}}

    outage.on_stats(consumer(1, 11_000))
    outage.on_stats(consumer(1, 12_000))
    assert outage.ongoing
    outage.on_stats(consumer(0, 25_000))  # the request timed out: nothing owed, nothing heard
    assert outage.ongoing
    outage.on_stats(consumer(0, -1, "DOWN"))
    outage.on_stats(consumer(0, -1, "CONNECT"))
    clock.now = 40.0
    outage.on_stats(consumer(0, 150))  # reconnected and answered
    assert not outage.ongoing
    assert [r.getMessage() for r in caplog.records][-1] == "broker reachable again after 40 s"
    assert len(caplog.records) == 2
    outage.on_stats(consumer(0, 60_000))  # idle again later: that is no outage
    assert not outage.ongoing


def test_reports_queued_before_the_outage_ended_do_not_start_another() -> None:
    """A client not polled while the loop was blocked hands over its old reports at once
    (seen after a partition: the consumer's four stalled reports right after the heal)."""
    outage = outage_with(["c1"], [], Clock())
    outage.on_stats({**stats("producer", "DOWN"), "ts": 10})
    assert outage.ongoing
    outage.on_stats({**stats("producer", "UP"), "ts": 30})
    assert not outage.ongoing
    outage.on_stats({**stats("consumer", "DOWN"), "ts": 20})
    assert not outage.ongoing, "older than the end: stale"
    outage.on_stats({**stats("consumer", "DOWN"), "ts": 35})
    assert outage.ongoing, "a fresh report still counts"


def test_a_client_still_bootstrapping_is_not_an_outage() -> None:
    outage = outage_with(["c1"], [], Clock())
    outage.on_stats({"name": "consumer", "brokers": {"bootstrap": {"nodeid": -1, "state": "DOWN"}}})
    assert not outage.ongoing


def test_a_broker_back_as_another_cluster_stops_the_pipeline() -> None:
    changed: list[ClusterChanged] = []
    outage = outage_with(["c1", "c2"], changed, Clock())
    outage.on_stats(stats("consumer", "DOWN"))
    outage.on_stats(stats("consumer", "UP"))
    [error] = changed
    assert "came back as another cluster (id c2, was c1)" in str(error)


def test_during_an_outage_a_fresh_client_asks_which_cluster_answers() -> None:
    """librdkafka will not talk to another cluster's broker: its clients stay cut off."""
    clock, changed = Clock(), []
    outage = outage_with(["c1", None, "c2"], changed, clock)
    outage.on_stats(stats("consumer", "DOWN"))
    clock.now = 11.0
    outage.on_stats(stats("consumer", "DOWN"))  # nobody answers yet
    assert changed == []
    clock.now = 22.0
    outage.on_stats(stats("consumer", "DOWN"))  # an empty broker on the old port
    [error] = changed
    assert "id c2, was c1" in str(error)
