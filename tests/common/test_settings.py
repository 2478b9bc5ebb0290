"""Settings from the environment: durations, Kafka passthrough."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines.common.settings import kafka_client_config
from pipelines.fraud.settings import FraudSettings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("60", timedelta(seconds=60)), ("0.5", timedelta(milliseconds=500)),
     ("PT2M", timedelta(minutes=2)), ("P90D", timedelta(days=90))],
)  # fmt: skip
def test_durations_read_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: timedelta
) -> None:
    monkeypatch.setenv("FRAUD_VELOCITY_WINDOW", raw)
    assert FraudSettings().velocity_window == expected


def test_kafka_settings_pass_through_with_dots() -> None:
    env = {
        "STREAMWISE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "STREAMWISE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "STREAMWISE_KAFKA_SSL_CA_LOCATION": "/etc/ca.pem",
        "STREAMWISE_BROKER": "ignored:9092",
    }
    assert kafka_client_config(env) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "ssl.ca.location": "/etc/ca.pem",
    }
