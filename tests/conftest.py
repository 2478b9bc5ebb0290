"""Session fixtures: ONE real embedded Kafka for the whole suite, isolated topics per test.

Every test gets its own topic prefix (``STREAMWISE_TOPIC_PREFIX``), data dir and
consumer groups, so tests share the broker without seeing each other's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.common.broker import RunningBroker, embedded_broker
from pipelines.common.settings import StreamwiseSettings


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """The suite's Kafka broker (KRaft, single node), started once."""
    with embedded_broker("kafka", workdir=tmp_path_factory.mktemp("kafka")) as running:
        yield running


@pytest.fixture
def settings(broker: RunningBroker, tmp_path: Path) -> StreamwiseSettings:
    """Settings of a deployment of its own on the shared broker."""
    return StreamwiseSettings(
        broker=broker.address,
        data_dir=tmp_path / "data",
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=2,
    )
