"""Chroma, and separately Ollama, SIGKILLed and restarted under a running fraud triage;
and Ollama hung (Toxiproxy drops its bytes, connections left open).

Alerts arrive before, while and after the dependency is gone; every alert gets its
triaged copy, none is dead-lettered, and the triage rides it out without a restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from models.llm import default_llm_model_path
from pipelines.devenv.broker import RunningBroker, free_port
from pipelines.devenv.chroma_server import running_chroma
from pipelines.devenv.ollama_server import running_ollama
from tests.conftest import isolated_settings
from tests.faults import figures
from tests.faults.toxiproxy import running_toxiproxy
from tests.fraud.test_triage import VELOCITY, travel_alert
from tests.kafkaio import produce, read
from tests.models.real_ollama import OLLAMA_MODEL, ollama_binary
from tests.processes import create_topics, start_pipeline, stop


def alerts(batch: str) -> list[dict[str, Any]]:
    made = [travel_alert(f"{batch}{i}", i, "Paris") for i in range(3)]
    return [*made, {**VELOCITY, "alert_id": f"{batch}v", "card_id": f"card-{batch}v"}]


@pytest.mark.parametrize("fault", ["chroma killed", "ollama killed", "ollama hung"])
def test_a_dependency_failing_mid_triage_loses_no_alert(
    broker: RunningBroker, tmp_path: Path, pytestconfig: pytest.Config, fault: str
) -> None:
    victim, how = fault.split()
    binary, gguf = ollama_binary(pytestconfig), default_llm_model_path()
    ports = {"chroma": free_port(), "ollama": free_port()}
    starts: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        "chroma": lambda: running_chroma(tmp_path / "chroma", tmp_path / "chroma.log",
                                         port=ports["chroma"]),
        "ollama": lambda: running_ollama(binary, gguf, OLLAMA_MODEL, tmp_path / "ollama",
                                         threads=1, port=ports["ollama"]),
    }  # fmt: skip
    log, catch_up = tmp_path / "triage.log", figures.CatchUp()
    with contextlib.ExitStack() as services:
        running = {name: services.enter_context(start()) for name, start in starts.items()}
        toxiproxy = services.enter_context(running_toxiproxy(tmp_path / "toxiproxy.log"))
        ollama = toxiproxy.proxy("ollama", f"127.0.0.1:{ports['ollama']}")
        settings = isolated_settings(broker, tmp_path / "data")
        create_topics(settings)
        env = {"STREAMWISE_CHROMA_HOST": f"127.0.0.1:{ports['chroma']}",
               "STREAMWISE_LLM_BACKEND": "ollama", "STREAMWISE_LLM_MODEL": OLLAMA_MODEL,
               "STREAMWISE_OLLAMA_HOST": f"http://127.0.0.1:{ollama.listen_port}"}  # fmt: skip
        before, during = alerts("b"), alerts("d")
        produce(settings, "fraud-alerts", [(a["card_id"], a) for a in before])
        triage = start_pipeline(settings, log, "fraud-triage", env=env)
        try:
            read(settings, "fraud-alerts-triaged", until=lambda r: len(r) >= 1, timeout_s=240)
            if how == "hung":
                ollama.partition()
            else:
                os.killpg(running[victim].process.pid, signal.SIGKILL)
                running[victim].process.wait(30)
            produce(settings, "fraud-alerts", [(a["card_id"], a) for a in during])
            time.sleep(8)  # the triage meets the new alerts with its dependency gone
            if how == "hung":
                ollama.heal()
            else:
                services.enter_context(starts[victim]())
            catch_up.heal()
            wanted = {a["alert_id"] for a in before + during}
            triaged = read(
                settings, "fraud-alerts-triaged", timeout_s=300, idle_s=2,
                until=catch_up.until(lambda r: {x.json()["alert_id"] for x in r} >= wanted),
            )  # fmt: skip
            alive = triage.poll() is None
        finally:
            code = stop(triage)
    text = log.read_text()
    dead = read(settings, "fraud-triage-dlq", timeout_s=2)
    what = "hung (Toxiproxy partition, 8 s)" if how == "hung" else "SIGKILLed, restarted"
    figures.record(f"{victim.title()} {what}", "fraud-triage", "at-least-once",
                   expected=wanted, delivered=[r.json()["alert_id"] for r in triaged],
                   dead_lettered=len(dead), catch_up=catch_up)  # fmt: skip
    assert alive, "it rode out the outage without a restart"
    assert code == 0, text[-3000:]
    assert {r.json()["alert_id"] for r in triaged} == wanted
    assert dead == [], "an outage is not poison"
    assert text.count(" outage: ") == text.count(" recovered after ") <= 2, text[-3000:]
    assert "Traceback" not in text
