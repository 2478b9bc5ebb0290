"""The pipelines ``streamwise run`` knows: name -> module with ``main(settings)``, a summary,
and the settings class of the pipeline's own environment (``FRAUD_*``, ...), if it has one.

The runtime names the same pipelines for their dead-letter topics (``common/topics.py``
``PIPELINES``) without importing this module; ``tests/test_registry.py`` keeps them equal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from pydantic_settings import BaseSettings

from pipelines.common.settings import StreamwiseSettings, load_settings


class PipelineEntry(NamedTuple):
    module: str
    summary: str
    settings: str | None = None
    """``module:Class`` of the pipeline's own settings."""


PIPELINES: dict[str, PipelineEntry] = {
    "fraud": PipelineEntry(
        "pipelines.fraud.fraud_pipeline",
        "impossible travel, velocity and profile joins: transactions -> fraud-alerts",
        "pipelines.fraud.settings:FraudSettings",
    ),
    "fraud-triage": PipelineEntry(
        "pipelines.fraud.triage_pipeline",
        "LLM analyst notes and similar past cases: fraud-alerts -> fraud-alerts-triaged",
    ),
    "fraud-quality": PipelineEntry(
        "pipelines.fraud.quality_pipeline",
        "verdicts joined to their alerts, precision per rule: fraud-verdicts -> fraud-quality",
        "pipelines.fraud.settings:QualitySettings",
    ),
    "feedback": PipelineEntry(
        "pipelines.feedback.feedback_pipeline",
        "sentiment, key phrases, categories, insights and alerts: feedback -> feedback-*",
        "pipelines.feedback.settings:FeedbackSettings",
    ),
    "knowledge": PipelineEntry(
        "pipelines.knowledge.sync_pipeline",
        "keep the vector store in sync with the knowledge base: kb-changes -> Chroma",
        "pipelines.knowledge.settings:KnowledgeSettings",
    ),
    "rag": PipelineEntry(
        "pipelines.knowledge.rag_pipeline",
        "answer questions from the latest knowledge, with citations: questions -> answers",
        "pipelines.knowledge.settings:KnowledgeSettings",
    ),
    "answer-kpis": PipelineEntry(
        "pipelines.knowledge.kpis_pipeline",
        "ratings joined to their answers, satisfaction and latency: answers -> answer-kpis",
        "pipelines.knowledge.settings:KpiSettings",
    ),
    "cdc": PipelineEntry(
        "pipelines.cdc.cdc_pipeline",
        "Debezium's row changes as contract events: connector topics -> customers, kb-changes",
        "pipelines.cdc.settings:CdcSettings",
    ),
    "lake": PipelineEntry(
        "pipelines.lake.lake_pipeline",
        "the output topics as Iceberg tables, Parquet by day: fraud-alerts, ... -> lake",
        "pipelines.lake.settings:LakeSettings",
    ),
}


def runner(name: str) -> Callable[[StreamwiseSettings], None]:
    """The ``main`` of pipeline ``name``, imported on demand (pipelines load heavy models)."""
    entry = PIPELINES[name]
    main: Callable[[StreamwiseSettings], None] = importlib.import_module(entry.module).main
    return main


def check_settings(name: str) -> None:
    """Read pipeline ``name``'s own settings now, so that a bad value fails first.

    ``streamwise run`` calls this before it starts or reaches a broker: a typo in a
    ``FRAUD_*`` variable is one line at once, not after an embedded Kafka has booted.
    """
    entry = PIPELINES[name]
    if entry.settings is not None:
        module, class_name = entry.settings.split(":")
        settings_class: type[BaseSettings] = getattr(importlib.import_module(module), class_name)
        load_settings(settings_class)
