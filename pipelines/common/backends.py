"""Heavy resources built from settings, once per process: the embedder, the chat model, Chroma.

Pipelines call these instead of constructing adapters themselves, so the
contract's environment (``STREAMWISE_EMBED_MODEL``, ``STREAMWISE_LLM_*``,
``STREAMWISE_CHROMA_HOST``) is honoured the same way everywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from models import ChatModel, TokenEmbedder, make_chat_model
from models.backends import EmbedBackend, make_embedder
from models.gguf import Requantize
from pipelines.common.metered import MeteredChatModel, MeteredTokenEmbedder
from pipelines.common.settings import StreamwiseSettings
from state.chroma import connect_chroma
from state.vectors import VectorCollection

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def embedder(settings: StreamwiseSettings) -> TokenEmbedder:
    """The configured sentence embedder (loaded once per process, model and backend)."""
    return _embedder(settings.embed_model, settings.embed_backend, settings.onnx_dir)


@functools.cache
def _embedder(model: str | None, backend: EmbedBackend, onnx_dir: Path) -> TokenEmbedder:
    return MeteredTokenEmbedder(make_embedder(model, backend=backend, cache_dir=onnx_dir))


def chat_model(settings: StreamwiseSettings) -> ChatModel:
    """The configured chat model: llama.cpp on a local GGUF, or an Ollama server."""
    return _chat_model(
        settings.llm_backend,
        settings.llm_model,
        settings.ollama_host,
        settings.gguf_dir,
        settings.llm_requantize,
    )


@functools.cache
def _chat_model(
    backend: str, model: str | None, host: str, gguf_dir: Path, requantize: Requantize
) -> ChatModel:
    return MeteredChatModel(
        make_chat_model(backend, model, host, cache_dir=gguf_dir, requantize=requantize)
    )


def chroma_client(settings: StreamwiseSettings) -> ClientAPI:
    """Embedded Chroma under the data dir, or the server named by ``STREAMWISE_CHROMA_HOST``."""
    return _chroma_client(settings.data_dir, settings.chroma_host)


@functools.cache
def _chroma_client(data_dir: Path, host: str | None) -> ClientAPI:
    return connect_chroma(data_dir, host)


def vector_collection(settings: StreamwiseSettings, name: str) -> VectorCollection:
    """Collection ``name`` (prefixed like topics) whose identity includes the embedding model."""
    model = embedder(settings)
    return VectorCollection.open(
        chroma_client(settings),
        f"{settings.topic_prefix}{name}",
        embedding_model_id=model.model_id,
        dimension=model.dimension,
    )
