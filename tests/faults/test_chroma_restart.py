"""The Chroma server SIGKILLed and restarted under a running knowledge sync: no change lost.

Documents arrive before, while and after the vector store is down; the sync waits it out
(its planner retries, its sink pauses the partitions), says so in one line when it starts
and one when it ends, and the index ends holding exactly the latest version of every
document, deletes applied.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from pipelines.devenv.broker import RunningBroker
from pipelines.devenv.chroma_server import running_chroma
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.settings import KnowledgeSettings
from tests.conftest import isolated_settings
from tests.faults import figures
from tests.kafkaio import produce, read
from tests.knowledge.conftest import change
from tests.processes import create_topics, start_pipeline, stop, wait_for
from tests.production.scrape import get


def policy(i: int, version: int) -> str:
    return (f"Policy {i}, revision {version}: items of kind {i} may be returned within "
            f"{i + 5 * version} days of delivery, in their original packaging.")  # fmt: skip


def test_chroma_sigkill_and_restart_mid_sync_loses_no_change(
    broker: RunningBroker, tmp_path: Path
) -> None:
    chroma_dir, chroma_log, log = tmp_path / "chroma", tmp_path / "chroma.log", tmp_path / "kb.log"
    first = [(f"doc-{i}", change(f"doc-{i}", 1, policy(i, 1))) for i in range(40)]
    during = [(f"doc-{i}", change(f"doc-{i}", 2, policy(i, 2))) for i in range(10)]
    during += [(f"doc-{i}", change(f"doc-{i}", 2)) for i in range(10, 15)]  # deletes
    during += [(f"doc-{i}", change(f"doc-{i}", 1, policy(i, 1))) for i in range(40, 60)]
    expected = {f"doc-{i}": (2, i >= 10) for i in range(15)}
    expected |= {f"doc-{i}": (1, False) for i in range(15, 60)}

    with running_chroma(chroma_dir, chroma_log) as chroma:
        settings = isolated_settings(broker, tmp_path / "data").model_copy(
            update={"chroma_host": chroma.address}
        )
        create_topics(settings)
        produce(settings, "kb-changes", first)
        knowledge = start_pipeline(settings, log, "knowledge", env={
            "STREAMWISE_LOG_LEVEL": "INFO", "STREAMWISE_CHROMA_HOST": chroma.address,
            "STREAMWISE_METRICS_PORT": "0",
        })  # fmt: skip
        index = KnowledgeIndex.open(settings, KnowledgeSettings())
        wait_for(lambda: len(index.manifest().documents) >= 10, timeout_s=180,
                 what=lambda: "the first documents synced\n" + log.read_text()[-2000:])  # fmt: skip
        os.killpg(chroma.process.pid, signal.SIGKILL)  # OOM-killer style: no shutdown
        chroma.process.wait(30)
        produce(settings, "kb-changes", during)  # the sync meets them with Chroma gone
        port = int(chroma.address.rsplit(":", 1)[1])
        wait_for(lambda: "chroma unavailable" in log.read_text(), timeout_s=60,
                 what=lambda: "the sync to notice\n" + log.read_text()[-2000:])  # fmt: skip
        metrics = int((settings.run_dir / "knowledge.metrics-port").read_text())
        status, body = get(metrics, "/readyz")
        assert (status, body.startswith("waiting out an outage: ")) == (503, True), body

    catch_up = figures.CatchUp()
    with running_chroma(chroma_dir, chroma_log, port=port):
        catch_up.heal()
        index = KnowledgeIndex.open(settings, KnowledgeSettings())

        def synced() -> bool:
            applied = index.manifest().documents
            return {d: (a.version, a.deleted) for d, a in applied.items()} == expected

        wait_for(lambda: catch_up.until(lambda _: synced())([]), timeout_s=180,
                 what=lambda: "every change applied\n" + log.read_text()[-3000:])  # fmt: skip
        live = index.manifest().live_chunk_ids()
        stored = {record.id for record in index.chunks.get()}
        assert knowledge.poll() is None, "it recovered by itself, without a restart"
        wait_for(lambda: get(metrics, "/readyz")[0] == 200, timeout_s=30, what="ready again")
        assert stop(knowledge) == 0, log.read_text()[-3000:]

    dead = read(settings, "knowledge-dlq", timeout_s=2)
    figures.record("Chroma server SIGKILLed, restarted", "knowledge", "at-least-once",
           expected=set(expected), delivered=list(expected), dead_lettered=len(dead),
           catch_up=catch_up)  # fmt: skip
    assert stored == live, "no chunk of an old version or a deleted document is left"
    assert dead == [], "an outage is not poison"
    lines = log.read_text().splitlines()
    # One line when it starts and one when it ends, from each part that met it: the
    # planner's reads (a stage outage) and the sink's writes (backpressure).
    started = [line for line in lines if "chroma unavailable" in line]
    ended = [line for line in lines if "recovered after" in line or "reachable again" in line]
    assert 1 <= len(started) == len(ended) <= 2, "\n".join(started + ended)
    assert not any("Traceback" in line for line in lines)
