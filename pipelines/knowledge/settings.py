"""Knowledge and RAG settings: ``KNOWLEDGE_*`` environment variables.

Chunk sizes are in the embedder's own tokens because that is what the model
truncates at (256 word pieces for all-MiniLM-L6-v2): a chunk measured in
characters can silently lose its tail.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.common.settings import Duration


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KNOWLEDGE_", extra="ignore")

    chunks_collection: str = Field(default="kb-chunks", description="Chroma collection of chunks")
    documents_collection: str = Field(
        default="kb-documents", description="Chroma collection of applied document versions"
    )
    chunk_tokens: int = Field(default=200, ge=32, le=256, description="max tokens per chunk")
    overlap_tokens: int = Field(default=32, ge=0, description="tokens repeated from the previous")
    candidates: int = Field(default=20, ge=1, description="dense and lexical candidates fused")
    context_chunks: int = Field(default=4, ge=1, le=9, description="passages given to the model")
    context_chars: int = Field(default=3000, ge=200, description="budget of passage text")
    max_citations: int = Field(
        default=2,
        ge=1,
        le=9,
        description="most passages an answer cites (those its content comes from)",
    )
    min_relevance: float = Field(
        default=0.3, ge=-1, le=1, description="best cosine below this: status no_context"
    )
    max_question_chars: int = Field(
        default=2000, ge=100, description="longer questions are rejected, not cut or sent on"
    )
    max_wait_s: float = Field(
        default=10.0, ge=0, description="longest a question may wait for min_versions"
    )


class KpiSettings(BaseSettings):
    """``streamwise run answer-kpis``: window size, how late a rating may come, docs listed."""

    model_config = SettingsConfigDict(env_prefix="KNOWLEDGE_", extra="ignore")

    kpi_window: Duration = Field(
        default=timedelta(hours=1),
        ge=timedelta(milliseconds=1),
        description="tumbling window of answer time for answer-kpis",
    )
    rating_ttl: Duration = Field(
        default=timedelta(days=30),
        ge=timedelta(milliseconds=1),
        description="a rating this long after its answer is not counted, and a question's "
        "join state is forgotten this long after its last change",
    )
    low_rated_docs: int = Field(
        default=5, ge=1, description="documents listed in low_rated_docs, most down-rated first"
    )
