"""Session fixtures: ONE real embedded Kafka for the whole suite, isolated topics per test.

Every test gets its own topic prefix (``STREAMWISE_TOPIC_PREFIX``), data dir and
consumer groups, so tests share the broker without seeing each other's events.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from pipelines.common.settings import StreamwiseSettings
from pipelines.devenv.broker import RunningBroker, embedded_broker
from tests.dict_state import DictState

_MODEL_CACHE = "STREAMWISE_MODEL_CACHE"
_OWN_CACHE = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """One cache of built models (the encoders' ONNX graphs) for the whole run, pipeline
    processes included: every test has a data dir of its own, and each would build them."""
    if _MODEL_CACHE not in os.environ:
        os.environ[_MODEL_CACHE] = tempfile.mkdtemp(prefix="streamwise-models-")
        config.stash[_OWN_CACHE] = Path(os.environ[_MODEL_CACHE])


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_CACHE, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """The suite's Kafka broker (KRaft, single node), started once."""
    with embedded_broker("kafka", workdir=tmp_path_factory.mktemp("kafka")) as running:
        yield running


def isolated_settings(broker: RunningBroker, data_dir: Path) -> StreamwiseSettings:
    """Settings of a deployment of its own on the shared broker: own topics, own state."""
    return StreamwiseSettings(
        broker=broker.address,
        data_dir=data_dir,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=2,
    )


@pytest.fixture
def settings(broker: RunningBroker, tmp_path: Path) -> StreamwiseSettings:
    """A fresh isolated deployment for one test."""
    return isolated_settings(broker, tmp_path / "data")


@pytest.fixture(scope="module")
def module_settings(
    broker: RunningBroker, tmp_path_factory: pytest.TempPathFactory
) -> StreamwiseSettings:
    """An isolated deployment shared by the tests of one module (one expensive run, many checks)."""
    return isolated_settings(broker, tmp_path_factory.mktemp("data"))


@pytest.fixture
def dict_state() -> DictState:
    """An empty dict-backed Quix ``State``, for rules and state views tested without a broker."""
    return DictState()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on its test (``item.report_call``), so a fixture's teardown
    can tell whether the test failed and print what only then is worth reading."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
