"""The real Ollama server for the tests: built here from its Go module, serving SmolLM2.

The binary comes from ``deploy/ollama/build.sh`` at the Makefile's ``OLLAMA_VERSION``,
cached by the script (``make test`` builds it first, through ``make ollama-bin``). Run
outside make on a machine without it, the fixture builds it, ~7 min on 2 cores, and
shows the script's progress: a test that needs Ollama never skips for want of it.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.llm import default_llm_model_path
from pipelines.devenv.broker.kafka import cache_root
from pipelines.devenv.ollama_server import OllamaServer, running_ollama

REPO = Path(__file__).resolve().parents[2]

OLLAMA_MODEL = "smollm2:135m"
"""The name the compose file's Ollama serves the bundled SmolLM2 under; the tests too."""


def ollama_version() -> str:
    """The Ollama version the Makefile builds: one place says which."""
    found = re.search(r"^OLLAMA_VERSION\s*:=\s*(\S+)$", (REPO / "Makefile").read_text(), re.M)
    if found is None:
        msg = "the Makefile does not set OLLAMA_VERSION"
        raise RuntimeError(msg)
    return found.group(1)


def ollama_binary(config: pytest.Config) -> Path:
    """The server binary, built by ``deploy/ollama/build.sh`` unless it is cached.

    The script's progress goes to the terminal past pytest's capture (a build is long
    and should not look like a hang); its "cached" line does not, to keep runs quiet.
    """
    script = REPO / "deploy" / "ollama" / "build.sh"
    argv = [str(script), ollama_version(), str(cache_root())]
    capture = config.pluginmanager.getplugin("capturemanager")
    last_lines: collections.deque[str] = collections.deque(maxlen=20)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as build:
        assert build.stdout is not None
        assert build.stderr is not None
        for line in build.stderr:
            last_lines.append(line)
            if not line.rstrip().endswith(": cached"):
                with capture.global_and_fixture_disabled():
                    sys.stderr.write(line)
        printed = build.stdout.read()
    if build.returncode != 0:
        msg = f"{script} failed with code {build.returncode}:\n{''.join(last_lines)}"
        raise RuntimeError(msg)
    return Path(printed.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def real_ollama(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OllamaServer]:
    """A real ``ollama serve`` on a free port, serving the bundled GGUF as ``smollm2:135m``.

    One thread for the model: steadier on a busy 2-core machine, where more threads
    contend with the suite's other work (Kafka, the in-process models).
    """
    binary = ollama_binary(pytestconfig)
    workdir = tmp_path_factory.mktemp("ollama")
    with running_ollama(
        binary, default_llm_model_path(), OLLAMA_MODEL, workdir, threads=1
    ) as server:
        yield server
