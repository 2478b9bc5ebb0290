"""A local ``ollama serve`` as a supervised child, serving one model created from a GGUF.

For working against a real Ollama with no network and nothing installed: the server is
the binary ``deploy/ollama/build.sh`` compiles from Ollama's Go module, its home and
model store are private to the run (``~/.ollama`` is never touched), and its one model
is created from a local GGUF, whose chat template Ollama reads itself.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.devenv.broker import free_port, process


class OllamaServerError(RuntimeError):
    """The local Ollama server did not start, or did not create its model."""


@dataclass(frozen=True)
class OllamaServer:
    """A running ``ollama serve``: the URL to give a client, its model, its process."""

    host: str
    model: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_ollama(
    binary: Path,
    gguf: Path,
    model: str,
    workdir: Path,
    *,
    threads: int | None = None,
    port: int = 0,
    ready_within_s: float = 60.0,
) -> Iterator[OllamaServer]:
    """Serve ``gguf`` as ``model`` on ``port`` (0: a free one), until the block ends.

    ``workdir`` holds the server's home, model store and log. ``threads`` sets the
    model's ``num_thread`` (Ollama's own choice when None). Yields once the model is
    created; stops the server and its runners (one process group) after.
    """
    port = port or free_port()
    env = {
        **os.environ,
        "HOME": str(workdir / "home"),
        "OLLAMA_MODELS": str(workdir / "models"),
        "OLLAMA_HOST": f"127.0.0.1:{port}",  # the client (`ollama create`) reads it too
    }
    log_path = workdir / "ollama.log"
    child = process.spawn([str(binary), "serve"], log_path=log_path, env=env)
    try:
        host = f"http://127.0.0.1:{port}"
        process.wait_until_answering(
            child, f"{host}/api/tags", log_path,
            what="ollama", ready_within_s=ready_within_s, error=OllamaServerError,
        )  # fmt: skip
        _create(binary, gguf, model, workdir=workdir, env=env, threads=threads)
        yield OllamaServer(host=host, model=model, process=child)
    finally:
        process.stop(child)


def _create(
    binary: Path, gguf: Path, model: str, *, workdir: Path, env: dict[str, str], threads: int | None
) -> None:
    """``ollama create`` the model from a Modelfile naming the GGUF by absolute path."""
    lines = [f"FROM {gguf.resolve()}"]
    if threads is not None:
        lines.append(f"PARAMETER num_thread {threads}")
    modelfile = workdir / "Modelfile"
    modelfile.write_text("\n".join(lines) + "\n")
    created = subprocess.run(
        [str(binary), "create", model, "-f", str(modelfile)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if created.returncode != 0:
        msg = f"ollama could not create {model!r} from {gguf}: {created.stderr.strip()[-500:]}"
        raise OllamaServerError(msg)
