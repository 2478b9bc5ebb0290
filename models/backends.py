"""Which engine runs the sentence encoder: torch, or onnxruntime in fp32 or int8.

One choice for every encoder of a deployment (``STREAMWISE_EMBED_BACKEND``): the plain
model behind search, categories and key phrases, and the sentiment-tuned copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from models.embeddings import SentenceTransformerEmbedder, TokenEmbedder
from models.lora import LowRankAdapter
from models.onnx_encoder import OnnxEmbedder

EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
EMBED_BACKENDS: tuple[EmbedBackend, ...] = ("torch", "onnx", "onnx-int8")


def make_embedder(
    model: str | None,
    *,
    backend: EmbedBackend,
    cache_dir: Path,
    threads: int | None = None,
    adapter: LowRankAdapter | None = None,
) -> TokenEmbedder:
    """The encoder ``model`` (None: the bundled MiniLM) on ``backend``; an ONNX graph is
    built into ``cache_dir`` the first time it is needed."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, threads=threads, adapter=adapter)
    return OnnxEmbedder(
        model, cache_dir=cache_dir, int8=backend == "onnx-int8", threads=threads, adapter=adapter
    )
