"""Settings from the environment: durations, Kafka passthrough."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.common.settings import (
    SettingsError,
    StreamwiseSettings,
    kafka_client_config,
    load_settings,
)
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


def test_https_needs_both_the_certificate_and_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMWISE_HTTP_TLS_CERT", "/etc/streamwise/cert.pem")
    with pytest.raises(SettingsError, match=r"^bad setting: set both STREAMWISE_HTTP_TLS_CERT"):
        load_settings(StreamwiseSettings)
    monkeypatch.setenv("STREAMWISE_HTTP_TLS_KEY", "/etc/streamwise/key.pem")
    assert load_settings(StreamwiseSettings).http_tls == (
        Path("/etc/streamwise/cert.pem"), Path("/etc/streamwise/key.pem")
    )  # fmt: skip
