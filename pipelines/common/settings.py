"""Settings shared by every pipeline: the contract's ``STREAMWISE_*`` environment.

Each pipeline adds its own settings class (``pipelines/<name>/settings.py``) with
its own prefix; this one holds what all of them share: where the broker is, where
state lives, which models to use, and the client security settings that pass
straight through to librdkafka.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.backends import EmbedBackend
from models.gguf import Requantize

KAFKA_PASSTHROUGH_PREFIX = "STREAMWISE_KAFKA_"


def _seconds(value: Any) -> Any:
    """Environment values are strings: read ``"60"`` or ``"0.5"`` as seconds."""
    if isinstance(value, str):
        try:
            return timedelta(seconds=float(value))
        except ValueError:
            return value  # ISO 8601 ("PT1M") or hh:mm:ss, for pydantic to parse
    return value


# A duration setting: seconds ("60") or ISO 8601 ("PT1M", "P90D").
Duration = Annotated[timedelta, BeforeValidator(_seconds)]

ProcessingGuarantee = Literal["at-least-once", "exactly-once"]
BrokerEngine = Literal["kafka", "tansu"]

S = TypeVar("S", bound=BaseSettings)


class SettingsError(ValueError):
    """A setting from the environment that cannot be used; the message names the variable."""


def load_settings(settings_class: type[S]) -> S:
    """``settings_class`` read from the environment; a bad value raises ``SettingsError``.

    pydantic's own message spans several lines and names the field, not the variable
    a user set; this one is a single line that names the variable.
    """
    try:
        return settings_class()
    except ValidationError as exc:
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        first = exc.errors()[0]
        reason = first["msg"].removeprefix("Value error, ")
        where = f" {prefix}{str(first['loc'][0]).upper()}" if first["loc"] else ""
        raise SettingsError(f"bad setting{where}: {reason}") from None


OUTAGE_BUDGET_S = 240.0
"""How long a pipeline waits out an outage by default: a broker upgrade's restart fits, and a
step blocked meanwhile stays below Kafka's default max poll interval (300 s)."""


class StreamwiseSettings(BaseSettings):
    """The contract's environment (``CONTRACT.md``), plus a few optional additions."""

    model_config = SettingsConfigDict(env_prefix="STREAMWISE_", extra="ignore")

    broker: str | None = Field(default=None, description="Kafka bootstrap servers")
    broker_engine: BrokerEngine = Field(
        default="kafka",
        description="engine behind STREAMWISE_BROKER ('tansu' needs 1-record batches)",
    )
    data_dir: Path = Field(default=Path(".streamwise"), description="RocksDB state, Chroma, logs")
    auth_tokens_file: Path | None = Field(
        default=None,
        description="bearer tokens of serve and the dashboard: NAME SCOPE SHA256 per line",
    )
    http_tls_cert: Path | None = Field(
        default=None, description="PEM certificate chain: serve and the dashboard speak HTTPS"
    )
    http_tls_key: Path | None = Field(default=None, description="PEM private key of it")
    serve_rate: int = Field(
        default=120, ge=1, description="asks per minute per token (or address) on serve; then 429"
    )
    llm_backend: Literal["llamacpp", "ollama"] = "llamacpp"
    llm_model: str | None = Field(default=None, description="GGUF path or Ollama model name")
    llm_requantize: Requantize = Field(
        default="auto",
        description="auto: a GGUF under 1 GiB in a type without batched prompt kernels "
        "(e.g. the bundled Q4_1) runs as its Q8_0 copy, built once under the model cache "
        "(about 2x faster prompts); off: the file as it is",
    )
    ollama_host: str = "http://127.0.0.1:11434"
    embed_model: str | None = Field(default=None, description="sentence-transformers name/path")
    model_cache: Path | None = Field(
        default=None,
        description="where models built from the shipped weights are kept (the encoders' "
        "ONNX graphs, Q8_0 copies of small GGUFs); unset: under the data dir",
    )
    embed_backend: EmbedBackend = Field(
        default="onnx",
        description="what runs the encoders: torch, or onnxruntime in fp32 (onnx) or with "
        "int8 weights (onnx-int8); an ONNX graph is built once under the data dir",
    )
    chroma_host: str | None = Field(default=None, description="Chroma server host:port")
    processing_guarantee: ProcessingGuarantee = "at-least-once"
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="prefix of every topic name: several deployments (or tests) share one cluster",
    )
    partitions: int = Field(default=3, ge=1, description="partitions of topics streamwise creates")
    replication_factor: int = Field(default=1, ge=1, description="of topics streamwise creates")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    log_format: Literal["keyvalue", "json"] = "keyvalue"
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description=(
            "serve /metrics, /livez and /readyz on this port (unset: no endpoint; 0: any free"
            " port, written to <data dir>/run/<pipeline>.metrics-port)"
        ),
    )
    metrics_host: str = Field(
        default="0.0.0.0",  # scraped from outside the container
        description="address the metrics endpoint binds to",
    )
    state_memory_mb: int = Field(
        default=256,
        ge=16,
        description="RocksDB memory of one pipeline process: block cache and memtables, half each",
    )
    outage_budget_s: float = Field(
        default=OUTAGE_BUDGET_S,
        gt=0,
        lt=300,  # a step waiting out an outage blocks the poll loop: below max.poll.interval.ms
        description=(
            "seconds a pipeline waits out an outage (broker, model server, vector store) before"
            " it stops without committing"
        ),
    )
    shutdown_grace_s: float = Field(
        default=30.0,
        gt=0,
        description="seconds after SIGTERM to exit (without committing) if a step is still stuck",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.http_tls_cert is None) != (self.http_tls_key is None):
            msg = "set both STREAMWISE_HTTP_TLS_CERT and STREAMWISE_HTTP_TLS_KEY, or neither"
            raise ValueError(msg)
        return self

    @property
    def http_tls(self) -> tuple[Path, Path] | None:
        """Certificate and key for HTTPS, or None for plain HTTP."""
        if self.http_tls_cert is None or self.http_tls_key is None:
            return None
        return self.http_tls_cert, self.http_tls_key

    @property
    def state_dir(self) -> Path:
        """RocksDB stores; never the ``state/`` package."""
        return self.data_dir / "state"

    @property
    def run_dir(self) -> Path:
        """Files that say where a running pipeline listens (its metrics port), for health checks."""
        return self.data_dir / "run"

    @property
    def onnx_dir(self) -> Path:
        """ONNX graphs of the encoders, built once (``STREAMWISE_EMBED_BACKEND=onnx*``)."""
        return (self.model_cache or self.data_dir / "models") / "onnx"

    @property
    def gguf_dir(self) -> Path:
        """Q8_0 copies of small GGUFs, built once (``STREAMWISE_LLM_REQUANTIZE=auto``)."""
        return (self.model_cache or self.data_dir / "models") / "gguf"

    @property
    def log_dir(self) -> Path:
        """Logs of the embedded broker and helper servers, kept after they stop (post-mortems)."""
        return self.data_dir / "logs"


def kafka_client_config(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka settings from ``STREAMWISE_KAFKA_*`` (``..._SASL_MECHANISM``: ``sasl.mechanism``).

    Security settings (SASL, TLS) are the user's; they pass through unchanged to every
    client streamwise creates: pipelines, producer, admin, dashboard, ask/serve.
    """
    env = os.environ if environ is None else environ
    return {
        name[len(KAFKA_PASSTHROUGH_PREFIX) :].lower().replace("_", "."): value
        for name, value in env.items()
        if name.startswith(KAFKA_PASSTHROUGH_PREFIX) and value != ""
    }
