r"""Knowledge sync: keep the vector store equal to the latest version of every document.

kb-changes -(doc_id)-> plan (stateful: applied version + chunk ids) -> KnowledgeSink -> Chroma
undecodable / invalid / failing -> knowledge-dlq

Each change is chunked in the embedder's tokens and diffed against what the
index holds (``sync.plan_change``); only new content is embedded, vanished chunks
are deleted, and late or duplicate versions change nothing. When the state has
no record of a document (first sight, or lost state), the Chroma manifest is
asked instead, so a replay on fresh state still converges without rewriting.
"""

from __future__ import annotations

from typing import Any

from quixstreams.state import State

from models import Embedder
from pipelines.common import backends
from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.events import KbChange
from pipelines.common.serialization import PoisonMessage
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.knowledge.chunking import TokenCounter, chunk_document
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.settings import KnowledgeSettings
from pipelines.knowledge.sink import KnowledgeSink
from pipelines.knowledge.sync import SyncPlan, plan_change
from state.documents import DocumentState

COMMIT_INTERVAL_S = 0.25
"""The longest a change waits for its checkpoint (and so for the sink) while changes
keep coming; the sync also commits whenever its consumer has caught up, so a burst
lands in one batched ``encode`` as soon as it is in (``commit_when_caught_up``)."""


class Planner:
    """Turns one change into a sync plan and records the document's new applied state."""

    def __init__(
        self, index: KnowledgeIndex, count_tokens: TokenCounter, knowledge: KnowledgeSettings
    ) -> None:
        self._index, self._count, self._knowledge = index, count_tokens, knowledge

    def plan(
        self, change: KbChange, key: Any, timestamp_ms: int, headers: Any, state: State[str, Any]
    ) -> SyncPlan | None:
        if key != change.doc_id.encode():
            msg = f"message key {key!r} is not the doc_id {change.doc_id!r}"
            msg += ": state would be mis-keyed"
            raise PoisonMessage(msg)
        documents = DocumentState(state)
        previous = documents.applied() or self._index.applied(change.doc_id)
        chunks = (
            chunk_document(
                change.doc_id,
                change.title or "",
                change.text or "",
                self._count,
                max_tokens=self._knowledge.chunk_tokens,
                overlap_tokens=self._knowledge.overlap_tokens,
            )
            if change.op == "upsert"
            else []
        )
        plan = plan_change(change, chunks, previous)
        if plan is not None:
            documents.record(plan.applied)
        return plan


def build(
    papp: PipelineApp,
    knowledge: KnowledgeSettings,
    *,
    embedder: Embedder | None = None,
    index: KnowledgeIndex | None = None,
) -> KnowledgeSink:
    """Declare the dataflow on ``papp`` and return its sink (for its counters)."""
    settings = papp.settings
    model = embedder or backends.embedder(settings)
    kb_index = index or KnowledgeIndex.open(settings, knowledge)
    planner = Planner(kb_index, model.count_tokens, knowledge)
    sink = KnowledgeSink(lambda: kb_index, model)
    changes = papp.app.dataframe(papp.topic("kb-changes"))
    plans = changes.apply(stage("plan", planner.plan, attempts=2), stateful=True, metadata=True)
    plans.filter(lambda plan: plan is not None).sink(sink)
    return sink


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run knowledge``."""
    knowledge = load_settings(KnowledgeSettings)
    papp = make_app(
        "knowledge", settings, commit_interval_s=COMMIT_INTERVAL_S, commit_when_caught_up=True
    )
    build(papp, knowledge)
    papp.run()
