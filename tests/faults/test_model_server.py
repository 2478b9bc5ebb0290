"""The model server killed, and separately hung, while RAG answers: every question answered.

Real Ollama serving SmolLM2 behind ``rag`` (``STREAMWISE_LLM_BACKEND=ollama``). Killed
(SIGKILL) and started again on its port, or cut off by a Toxiproxy partition that drops
every byte for 20 s: either way the answer stage waits the outage out (one line when it
starts, one when it ends), and every question gets its one answer, none dead-lettered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.llm import default_llm_model_path
from pipelines.devenv.broker import RunningBroker, free_port
from pipelines.devenv.chroma_server import ChromaServer
from pipelines.devenv.ollama_server import running_ollama
from tests.conftest import isolated_settings
from tests.faults import figures
from tests.faults.toxiproxy import running_toxiproxy
from tests.kafkaio import produce, read
from tests.knowledge.conftest import change
from tests.models.real_ollama import OLLAMA_MODEL, ollama_binary
from tests.processes import create_topics, start_pipeline, stop
from tests.state.conftest import chroma_server

__all__ = ["chroma_server"]

REFUNDS = "Refunds are paid within 30 days of the returned item reaching our warehouse."
QUESTIONS = ["How many days until I get my refund?", "When is my refund paid?",
             "How long do refunds take?", "Is a refund paid after the item arrives?"]  # fmt: skip


def _ask(settings: object, batch: str) -> list[str]:
    now = datetime.now(UTC).isoformat()
    ids = [f"{batch}-{i}" for i in range(len(QUESTIONS))]
    produce(settings, "questions", [  # type: ignore[arg-type]
        (qid, {"question_id": qid, "text": text, "ts": now, "min_versions": {"refunds": 1},
               "wait_s": 10})
        for qid, text in zip(ids, QUESTIONS, strict=True)
    ])  # fmt: skip
    return ids


def _run_through_fault(
    broker: RunningBroker, chroma: ChromaServer, tmp_path: Path, ollama_host: str,
    fault: Callable[[], None], *, name: str,
) -> str:  # fmt: skip
    """knowledge and rag (on ``ollama_host``) answer a batch, meet ``fault`` mid-batch, and
    answer every question; returns rag's log."""
    settings = isolated_settings(broker, tmp_path / "data").model_copy(
        update={"chroma_host": chroma.address}
    )
    create_topics(settings)
    produce(settings, "kb-changes", [("refunds", change("refunds", 1, REFUNDS))])
    env = {"STREAMWISE_CHROMA_HOST": chroma.address, "STREAMWISE_LLM_BACKEND": "ollama",
           "STREAMWISE_LLM_MODEL": OLLAMA_MODEL, "STREAMWISE_OLLAMA_HOST": ollama_host}  # fmt: skip
    logs = {name: tmp_path / f"{name}.log" for name in ("knowledge", "rag")}
    processes = {p: start_pipeline(settings, log, p, env=env) for p, log in logs.items()}
    catch_up = figures.CatchUp()
    try:
        first = _ask(settings, "before")
        read(settings, "answers", until=lambda r: len(r) >= 1, timeout_s=240)
        fault()
        catch_up.heal()
        wanted = set(first + _ask(settings, "after"))
        answers = read(
            settings, "answers", timeout_s=300, idle_s=2,
            until=catch_up.until(lambda r: {x.json()["question_id"] for x in r} >= wanted),
        )  # fmt: skip
        alive = {p: process.poll() is None for p, process in processes.items()}
    finally:
        codes = {p: stop(process) for p, process in processes.items()}
    text = logs["rag"].read_text()
    assert alive == {"knowledge": True, "rag": True}, "no restart needed"
    assert codes == {"knowledge": 0, "rag": 0}, text[-3000:]
    by_id = {a.json()["question_id"]: a.json() for a in answers}
    dead = read(settings, "rag-dlq", timeout_s=2)
    figures.record(name, "rag", "at-least-once", expected=wanted,
           delivered=[a.json()["question_id"] for a in answers], dead_lettered=len(dead),
           catch_up=catch_up)  # fmt: skip
    assert set(by_id) == wanted
    # The model's own verdicts stand (the answer checks may reject a weak answer), but no
    # answer was given up on for the outage: it was waited out.
    outage_words = ("unreachable", "unavailable", "did not finish")
    assert [q for q, a in by_id.items() if any(w in a.get("reason", "") for w in outage_words)
            ] == [], by_id  # fmt: skip
    assert sum(a["status"] == "ok" for a in by_id.values()) >= len(by_id) // 2, by_id
    assert dead == [], "an outage is not poison"
    return text


@pytest.fixture
def binary(pytestconfig: pytest.Config) -> Path:
    return ollama_binary(pytestconfig)


def test_ollama_killed_and_restarted_mid_answering(
    broker: RunningBroker, chroma_server: ChromaServer, tmp_path: Path, binary: Path
) -> None:
    port, workdir, model = free_port(), tmp_path / "ollama", default_llm_model_path()
    with (
        contextlib.ExitStack() as restarted,
        running_ollama(binary, model, OLLAMA_MODEL, workdir, threads=1, port=port) as ollama,
    ):

        def kill_and_restart() -> None:
            os.killpg(ollama.process.pid, signal.SIGKILL)
            ollama.process.wait(30)
            time.sleep(10)  # questions keep coming while it is gone
            restarted.enter_context(
                running_ollama(binary, model, OLLAMA_MODEL, workdir, threads=1, port=port)
            )

        text = _run_through_fault(broker, chroma_server, tmp_path, ollama.host, kill_and_restart,
                                  name="Ollama SIGKILLed, restarted after 10 s")  # fmt: skip
    assert text.count("stage=answer outage") == text.count("stage=answer recovered") == 1, text
    assert "Traceback" not in text


def test_ollama_cut_off_by_a_partition_mid_answering(
    broker: RunningBroker, chroma_server: ChromaServer, tmp_path: Path, binary: Path
) -> None:
    with (
        running_ollama(binary, default_llm_model_path(), OLLAMA_MODEL, tmp_path / "ollama",
                       threads=1) as ollama,
        running_toxiproxy(tmp_path / "toxiproxy.log") as toxiproxy,
    ):  # fmt: skip
        upstream = ollama.host.removeprefix("http://")
        proxy = toxiproxy.proxy("ollama", upstream)

        def partition_for_20_s() -> None:
            proxy.partition()
            time.sleep(20)
            proxy.heal()

        proxied = f"http://127.0.0.1:{proxy.listen_port}"
        text = _run_through_fault(broker, chroma_server, tmp_path, proxied, partition_for_20_s,
                                  name="Ollama cut off for 20 s (partition)")  # fmt: skip
    assert text.count("stage=answer outage") == text.count("stage=answer recovered") <= 1, text
    assert "Traceback" not in text
