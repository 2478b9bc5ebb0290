"""Fraud settings: ``FRAUD_*`` environment variables (durations as seconds or ISO 8601)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.common.settings import Duration


class FraudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", extra="ignore")

    max_speed_kmh: float = Field(default=900.0, gt=0, description="faster than this is impossible")
    min_distance_km: float = Field(default=50.0, ge=0, description="closer than this never flags")
    keep_sightings: int = Field(default=20, ge=1, description="card-present uses kept per card")
    card_state_ttl: Duration = Field(
        default=timedelta(days=90), description="a card unseen this long (event time) is forgotten"
    )
    velocity_max: int = Field(default=5, ge=1, description="more transactions than this ...")
    velocity_window: Duration = Field(default=timedelta(seconds=60), description="... within this")
    velocity_keep: int = Field(
        default=256, ge=2, description="recent transactions kept per card (bounds a busy card)"
    )
    late_grace: Duration = Field(
        default=timedelta(hours=3), description="how late an event may arrive and still count"
    )
    profile_history: Duration = Field(
        default=timedelta(days=365), description="how far back older profile versions are kept"
    )

    @model_validator(mode="after")
    def _velocity_keep_exceeds_max(self) -> FraudSettings:
        if self.velocity_keep <= self.velocity_max:
            msg = (
                f"FRAUD_VELOCITY_KEEP ({self.velocity_keep}) must exceed FRAUD_VELOCITY_MAX "
                f"({self.velocity_max}): a burst is more than that many transactions"
            )
            raise ValueError(msg)
        return self


class QualitySettings(BaseSettings):
    """``streamwise run fraud-quality``: how long a verdict may follow its alert, window size."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_", extra="ignore")

    verdict_ttl: Duration = Field(
        default=timedelta(days=180),
        gt=timedelta(0),
        description="a verdict this long after its alert (event time) is not counted, and an "
        "alert's join state is forgotten this long after its last change: chargebacks take "
        "weeks, card schemes allow about 120 days",
    )
    quality_window: Duration = Field(
        default=timedelta(days=1),
        gt=timedelta(0),
        description="tumbling window of alert time for fraud-quality",
    )
