"""Dead letters are committed like processed messages, and tombstones are poison with a reason
(but on ``customers``, where a tombstone deletes the card's profile).

A dead letter that ends a partition must not be sent again after a clean restart:
Quix commits past a message only when a later one is processed, unless we store
its offset ourselves (``StreamwiseApplication``, on a private Quix API this test guards).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer

from pipelines.common.app import make_app
from pipelines.common.clients import producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import quix_topic, spec
from pipelines.fraud.fraud_pipeline import build
from pipelines.fraud.settings import FraudSettings
from tests.fraud.transactions import txn
from tests.kafkaio import Record, lag, read
from tests.processes import create_topics, start_pipeline, stop

MALFORMED = b'{"txn_id": "broken", '


def _send(
    settings: StreamwiseSettings,
    topic: str,
    messages: list[tuple[bytes, bytes | None]],
    *,
    partition: int = -1,
) -> None:
    """Send raw (key, value) pairs, ``None`` values as tombstones, to one partition if given."""
    producer = Producer(producer_config(settings))
    for key, value in messages:
        producer.produce(settings.topic_prefix + topic, key=key, value=value, partition=partition)
    assert producer.flush(30) == 0


def _sources(records: list[Record]) -> list[tuple[int, int]]:
    return sorted(
        (int(r.header("streamwise.source.partition")), int(r.header("streamwise.source.offset")))
        for r in records
    )


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_a_dead_letter_ending_a_partition_is_committed_and_not_sent_again_after_restart(
    settings: StreamwiseSettings, tmp_path: Path, guarantee: str
) -> None:
    settings = settings.model_copy(update={"processing_guarantee": guarantee})
    create_topics(settings)
    # partition 0 ends with bytes the deserializer rejects, partition 1 with an event a
    # step rejects (its key is not its card_id): the two ways into the DLQ
    _send(settings, "transactions", [(b"card-a", encode_json(txn("a-1", "card-a"))),
                                     (b"card-a", MALFORMED)], partition=0)  # fmt: skip
    _send(settings, "transactions", [(b"card-b", encode_json(txn("b-1", "card-b"))),
                                     (b"card-b", encode_json(txn("b-2", "card-c")))],
          partition=1)  # fmt: skip
    log = tmp_path / "fraud.log"

    first = start_pipeline(settings, log)
    try:
        dead = read(settings, "fraud-dlq", until=lambda r: len(r) >= 2, timeout_s=90)
    finally:
        assert stop(first) == 0, log.read_text()[-3000:]
    assert _sources(dead) == [(0, 1), (1, 1)], log.read_text()[-3000:]
    assert {r.header("streamwise.stage") for r in dead} == {"decode", "score"}
    assert lag(settings, "fraud", "transactions") == {0: 0, 1: 0}

    # after the restart only the new poison is dead-lettered: had the first run not
    # committed past its dead letters, they would come again before it
    second = start_pipeline(settings, log)
    try:
        for partition in (0, 1):
            _send(settings, "transactions", [(b"card-x", MALFORMED)], partition=partition)
        dead = read(settings, "fraud-dlq", until=lambda r: len(r) >= 4, timeout_s=90, idle_s=2)
    finally:
        assert stop(second) == 0, log.read_text()[-3000:]
    assert _sources(dead) == [(0, 1), (0, 2), (1, 1), (1, 2)], log.read_text()[-3000:]
    assert lag(settings, "fraud", "transactions") == {0: 0, 1: 0}


def test_a_tombstone_on_an_input_topic_but_customers_is_dead_lettered_with_a_readable_reason(
    settings: StreamwiseSettings,
) -> None:
    create_topics(settings)
    _send(settings, "customers", [(b"customers-key", None)])  # deletes a profile: not poison
    inputs = {
        "transactions": "Transaction",
        "feedback": "Feedback",
        "kb-changes": "KbChange",
        "questions": "Question",
    }
    for topic in inputs:
        _send(settings, topic, [(f"{topic}-key".encode(), None)])
    papp = make_app("fraud", settings)
    build(papp, FraudSettings())  # the real fraud flow on transactions and customers
    for topic in ("feedback", "kb-changes", "questions"):  # other pipelines' inputs, decoded
        topic_spec = spec(topic).prefixed(settings.topic_prefix)
        other = quix_topic(papp.app, topic_spec, partitions=settings.partitions)
        papp.app.dataframe(other)  # by the same runtime (not declared for fraud: no ACL check)
    papp.app.run(timeout=5)

    dead = read(settings, "fraud-dlq", until=lambda r: len(r) >= len(inputs), idle_s=1)
    by_topic: dict[str, Record] = {
        r.header("streamwise.source.topic").removeprefix(settings.topic_prefix): r for r in dead
    }
    assert len(dead) == len(inputs)
    assert set(by_topic) == set(inputs)
    for topic, model in inputs.items():
        record = by_topic[topic]
        assert record.key == f"{topic}-key".encode()
        assert record.value is None  # a tombstone stays a tombstone
        assert record.header("streamwise.stage") == "decode"
        assert record.header("streamwise.error").startswith(
            f"PoisonMessage: empty value (a tombstone): {model} needs a JSON object"
        )
    assert "op 'delete'" in by_topic["kb-changes"].header("streamwise.error")
