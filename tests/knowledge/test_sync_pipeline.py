"""The knowledge sync on the real broker, embedder and Chroma (embedded and server)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaException

from pipelines.common.app import make_app
from pipelines.common.clients import pipeline_group
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge import sync_pipeline
from pipelines.knowledge.chunking import hash_of
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.settings import KnowledgeSettings
from tests.kafkaio import lag, produce
from tests.knowledge.conftest import change, run_sync
from tests.processes import create_topics

REFUNDS_V1 = (
    "# Time limits\n\nRefunds are paid within 30 days of the return reaching our warehouse.\n\n"
    "# Method\n\nRefunds go back to the card used for the purchase.\n\n"
    "# Exceptions\n\nGift cards cannot be refunded."
)
REFUNDS_V2 = REFUNDS_V1.replace("30 days", "45 days")
SHIPPING = "Standard shipping takes 3 to 5 working days. Express shipping arrives the next day."

Snapshot = dict[str, tuple[str, str]]


def snapshot(index: KnowledgeIndex) -> Snapshot:
    """Every chunk: id -> (content hash, text)."""
    return {r.id: (hash_of(r.id), r.document) for r in index.chunks.get()}


def test_updates_deletes_late_versions_and_replays(
    kb_settings: StreamwiseSettings, open_index: Callable[[StreamwiseSettings], KnowledgeIndex]
) -> None:
    settings = kb_settings
    produce(settings, "kb-changes", [
        ("refunds", change("refunds", 1, REFUNDS_V1)),
        ("shipping", change("shipping", 1, SHIPPING)),
        ("returns", change("returns", 1, "Returns are accepted for 14 days.")),
    ])  # fmt: skip
    run_sync(settings)
    index = open_index(settings)
    first = snapshot(index)
    refunds_v1 = index.manifest(["refunds"]).documents["refunds"].chunk_ids
    assert len(refunds_v1) == 3
    assert {cid.split(":")[0] for cid in first} == {"refunds", "shipping", "returns"}

    produce(settings, "kb-changes", [
        ("refunds", change("refunds", 3, REFUNDS_V2)),
        ("refunds", change("refunds", 2, "A late v2 that must never be applied.")),
        ("shipping", change("shipping", 2)),  # delete
        ("returns", change("returns", 1, "A duplicate v1 with other text.")),
    ])  # fmt: skip
    sink = run_sync(settings)
    assert sink.embedded == 1  # only the changed refunds chunk: the rest is kept or deleted
    second = snapshot(index)
    manifest = index.manifest().documents
    refunds_v3 = manifest["refunds"].chunk_ids
    assert manifest["refunds"].version == 3
    assert [a == b for a, b in zip(refunds_v1, refunds_v3, strict=True)] == [False, True, True]
    assert "45 days" in second[refunds_v3[0]][1]
    assert refunds_v1[0] not in second  # the replaced chunk is gone
    assert manifest["shipping"].deleted
    assert manifest["shipping"].version == 2
    assert not [cid for cid in second if cid.startswith("shipping:")]
    assert manifest["returns"].version == 1
    assert not [text for _, text in second.values() if "late v2" in text or "duplicate" in text]
    assert set(second) == set(refunds_v3) | set(manifest["returns"].chunk_ids)

    # Replay the whole topic on fresh state (a new consumer group): nothing changes.
    replay = run_sync(settings, group=pipeline_group("knowledge-replay", settings.topic_prefix))
    assert (replay.applied, replay.embedded) == (0, 0)
    assert snapshot(index) == second
    assert index.manifest().documents == manifest


def test_a_burst_is_committed_once_consumed_not_after_the_commit_interval(
    settings: StreamwiseSettings, open_index: Callable[[StreamwiseSettings], KnowledgeIndex]
) -> None:
    """The sync commits as soon as its consumer caught up: a burst is in Chroma and its
    offsets committed while a 3-minute commit interval is far from over."""
    create_topics(settings)
    produce(settings, "kb-changes", [
        (f"doc-{n}", change(f"doc-{n}", 1, f"Document {n} says shipping takes {n} days."))
        for n in range(5)
    ])  # fmt: skip
    papp = make_app("knowledge", settings, commit_interval_s=180, commit_when_caught_up=True)
    sink = sync_pipeline.build(papp, KnowledgeSettings())
    caught_up = threading.Event()

    def stop_once_committed() -> None:
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and not caught_up.is_set():
                with contextlib.suppress(KafkaException):  # the new group's coordinator loads
                    if sum(lag(settings, "knowledge", "kb-changes").values()) == 0:
                        caught_up.set()
                time.sleep(0.2)
        finally:
            papp.app.stop()

    watcher = threading.Thread(target=stop_once_committed, daemon=True)
    watcher.start()
    papp.app.run()
    watcher.join()
    assert caught_up.is_set(), "offsets were not committed before the commit interval"
    assert sink.applied == 5
    assert len(open_index(settings).manifest().documents) == 5
