"""CDC settings: ``STREAMWISE_CDC_*``, where the connector writes and which column is which.

``STREAMWISE_CDC_CUSTOMERS`` and ``STREAMWISE_CDC_KB`` say what feeds ``customers`` and
``kb-changes`` (the contract's variables): ``contract`` means producers write our JSON to
them directly and ``run cdc`` has nothing to do there; ``debezium`` means ``run cdc``
reads the connector's topic (``..._TOPIC``: Debezium names it ``<topic.prefix>.<schema>.<table>``)
and writes the contract topic from it. A column mapping (``..._COLUMNS``, ``field=column``
pairs separated by commas) names the columns that do not carry our field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipelines.common.cdc.mapping import CUSTOMER_FIELDS, KB_FIELDS

CdcFormat = Literal["contract", "debezium"]


@dataclass(frozen=True)
class CdcSource:
    """A contract topic fed by a connector: where it writes, the setting naming it, columns."""

    contract_topic: Literal["customers", "kb-changes"]
    connector_topic: str
    named_by: str
    columns: Mapping[str, str]


def _pairs(value: Any) -> Any:
    """``"card_id=card_number, home_country=country"`` as a mapping (a dict passes through)."""
    if not isinstance(value, str):
        return value
    pairs = [pair.strip() for pair in value.split(",") if pair.strip()]
    malformed = [pair for pair in pairs if pair.count("=") != 1]
    if malformed:
        msg = f"expected field=column pairs separated by commas, got {malformed[0]!r}"
        raise ValueError(msg)
    return {field.strip(): column.strip() for field, column in (p.split("=") for p in pairs)}


ColumnMap = Annotated[dict[str, str], NoDecode, BeforeValidator(_pairs)]


class CdcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMWISE_CDC_", extra="ignore")

    customers: CdcFormat = Field(default="contract", description="what feeds customers")
    kb: CdcFormat = Field(default="contract", description="what feeds kb-changes")
    customers_topic: str | None = Field(
        default=None, description="the connector's topic of customer rows (debezium)"
    )
    kb_topic: str | None = Field(
        default=None, description="the connector's topic of knowledge-base rows (debezium)"
    )
    customers_columns: ColumnMap = Field(
        default_factory=dict, description="customers field=column pairs where they differ"
    )
    kb_columns: ColumnMap = Field(
        default_factory=dict, description="kb-changes field=column pairs where they differ"
    )

    @model_validator(mode="after")
    def _sources_named(self) -> Self:
        for source, fields in (("customers", CUSTOMER_FIELDS), ("kb", KB_FIELDS)):
            unknown = sorted(set(getattr(self, f"{source}_columns")) - set(fields))
            if unknown:
                msg = (
                    f"STREAMWISE_CDC_{source.upper()}_COLUMNS maps {', '.join(unknown)}, "
                    f"not fields of {source}: {', '.join(fields)}"
                )
                raise ValueError(msg)
            if getattr(self, source) == "debezium" and not getattr(self, f"{source}_topic"):
                msg = (
                    f"STREAMWISE_CDC_{source.upper()}=debezium needs "
                    f"STREAMWISE_CDC_{source.upper()}_TOPIC, the connector's topic "
                    "(Debezium names it <topic.prefix>.<schema>.<table>)"
                )
                raise ValueError(msg)
        return self

    def sources(self) -> list[CdcSource]:
        """The contract topics a connector feeds, as these settings say."""
        found = []
        if self.customers == "debezium" and self.customers_topic:
            named_by = "STREAMWISE_CDC_CUSTOMERS_TOPIC"
            found.append(
                CdcSource("customers", self.customers_topic, named_by, self.customers_columns)
            )
        if self.kb == "debezium" and self.kb_topic:
            named_by = "STREAMWISE_CDC_KB_TOPIC"
            found.append(CdcSource("kb-changes", self.kb_topic, named_by, self.kb_columns))
        return found
