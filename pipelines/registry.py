"""The pipelines ``streamwise run`` knows: name -> module with ``main(settings)`` and a summary."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from pipelines.common.settings import StreamwiseSettings


class PipelineEntry(NamedTuple):
    module: str
    summary: str


PIPELINES: dict[str, PipelineEntry] = {
    "fraud": PipelineEntry(
        "pipelines.fraud.pipeline",
        "impossible travel, velocity and profile joins: transactions -> fraud-alerts",
    ),
    "fraud-triage": PipelineEntry(
        "pipelines.fraud.triage",
        "LLM analyst notes and similar past cases: fraud-alerts -> fraud-alerts-triaged",
    ),
    "feedback": PipelineEntry(
        "pipelines.feedback.pipeline",
        "sentiment, key phrases, categories, insights and alerts: feedback -> feedback-*",
    ),
    "knowledge": PipelineEntry(
        "pipelines.knowledge.pipeline",
        "keep the vector store in sync with the knowledge base: kb-changes -> Chroma",
    ),
    "rag": PipelineEntry(
        "pipelines.knowledge.rag",
        "answer questions from the latest knowledge, with citations: questions -> answers",
    ),
}


def runner(name: str) -> Callable[[StreamwiseSettings], None]:
    """The ``main`` of pipeline ``name``, imported on demand (pipelines load heavy models)."""
    entry = PIPELINES[name]
    main: Callable[[StreamwiseSettings], None] = importlib.import_module(entry.module).main
    return main
