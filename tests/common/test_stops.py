"""What stopped a pipeline, in one line: the broker gone past the budget, a full disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.kafka.exceptions import KafkaBrokerUnavailableError, KafkaProducerDeliveryError

from pipelines.common.admin import BrokerUnreachable
from pipelines.common.outage import BrokerOutage, outage_budget_s
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.stops import StateDiskFull, explain

SETTINGS = StreamwiseSettings(broker="kafka:9092", data_dir=Path("/data"), outage_budget_s=30)
GONE = (
    "the broker kafka:9092 was unreachable for more than 30 s; stopped without committing: "
    "start the pipeline again once the broker is back, it resumes where it stopped"
)


def outage(*, ongoing: bool) -> BrokerOutage:
    tracker = BrokerOutage(lambda: "c1", lambda _: None)
    state = "DOWN" if ongoing else "UP"
    tracker.on_stats({"name": "consumer", "brokers": {"b1": {"nodeid": 1, "state": state}}})
    return tracker


@pytest.mark.parametrize(
    "raised",
    [
        KafkaBrokerUnavailableError("All Kafka brokers have been unavailable for 31s"),
        KafkaProducerDeliveryError(KafkaError(KafkaError._MSG_TIMED_OUT)),
    ],
    ids=["quix-availability-timeout", "delivery-timed-out"],
)
def test_giving_up_on_the_broker_is_one_line_with_the_budget(raised: Exception) -> None:
    explained = explain(raised, SETTINGS, outage(ongoing=False))

    assert isinstance(explained, BrokerUnreachable)
    assert str(explained) == GONE


def test_a_kafka_error_while_the_brokers_are_gone_is_the_outage() -> None:
    """Under exactly-once the abort on exit fails too and hides Quix's own error."""
    abort = KafkaException(KafkaError(KafkaError._STATE, "Operation not valid in state"))

    assert str(explain(abort, SETTINGS, outage(ongoing=True))) == GONE
    assert explain(abort, SETTINGS, outage(ongoing=False)) is None, "else not ours to explain"


def test_a_rebalance_callback_failing_inside_consume_during_an_outage_is_the_outage() -> None:
    lost = SystemError(
        "<method 'consume' of 'cimpl.Consumer' objects> returned NULL without setting an exception"
    )

    assert str(explain(lost, SETTINGS, outage(ongoing=True))) == GONE
    assert explain(lost, SETTINGS, outage(ongoing=False)) is None


def test_a_broker_lost_while_the_pipeline_starts_is_one_line_too() -> None:
    """Killed seconds after the start: Quix's changelog topic lookup fails, no outage yet."""
    metadata = KafkaException(
        KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure")
    )

    assert str(explain(metadata, SETTINGS, outage(ongoing=False))) == (
        "the broker kafka:9092 stopped answering (Failed to get metadata: Local: Broker "
        "transport failure); nothing was committed: start again once it is reachable"
    )


def test_a_full_state_volume_names_the_directory_and_the_remedy() -> None:
    explained = explain(OSError("IO error: No space left on device"), SETTINGS, None)

    assert isinstance(explained, StateDiskFull)
    assert str(explained).startswith("the state directory /data/state is full")


def test_anything_else_is_left_as_raised() -> None:
    assert explain(RuntimeError("a bug"), SETTINGS, None) is None


def test_under_exactly_once_the_budget_stops_at_the_transaction_timeout() -> None:
    """A longer transaction would keep read_committed readers waiting after a crash."""
    eos = SETTINGS.model_copy(
        update={"outage_budget_s": 240, "processing_guarantee": "exactly-once"}
    )

    assert outage_budget_s(eos) == 60
    assert outage_budget_s(SETTINGS.model_copy(update={"outage_budget_s": 240})) == 240
    explained = explain(KafkaBrokerUnavailableError("gone"), eos, outage(ongoing=False))
    assert "unreachable for more than 60 s" in str(explained)
