"""Callbacks run inside the Kafka client: their errors are logged where they happen."""

from __future__ import annotations

import pytest

from pipelines.common.callbacks import contained


def broken_stats(stats_json: str) -> None:
    raise KeyError(stats_json)


def test_an_observer_that_fails_is_logged_with_its_traceback_and_does_not_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    contained(broken_stats)('{"name": "rdkafka#consumer-1"}')
    [record] = caplog.records
    assert "broken_stats failed inside the Kafka client; ignored" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError
