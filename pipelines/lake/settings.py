"""Lake settings: ``STREAMWISE_LAKE_*`` (``STREAMWISE_LAKE_DIR`` is the contract's)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks.iceberg import CatalogLocation

CATALOG_FILE = "catalog.db"


class LakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMWISE_LAKE_", extra="ignore")

    dir: Path | None = Field(
        default=None,
        description="where the tables and their SQLite catalog live (unset: <data dir>/lake)",
    )
    commit_interval_s: float = Field(
        default=60.0,
        gt=0,
        lt=300,  # a checkpoint must come before Kafka's max poll interval
        description="seconds between two appends to a table: fresher tables, or fewer and "
        "larger files (each append writes one file per table and day)",
    )
    commit_every: int = Field(
        default=50_000,
        ge=1,
        description="records after which an append comes sooner (bounds the rows in memory)",
    )

    def directory(self, settings: StreamwiseSettings) -> Path:
        """The lake's folder: ``STREAMWISE_LAKE_DIR``, else ``lake`` under the data dir."""
        return (self.dir or settings.data_dir / "lake").resolve()

    def location(self, settings: StreamwiseSettings) -> CatalogLocation:
        """The SQLite catalog in the lake's folder, and the folder as the warehouse."""
        folder = self.directory(settings)
        return CatalogLocation(uri=f"sqlite:///{folder / CATALOG_FILE}", warehouse=folder.as_uri())
