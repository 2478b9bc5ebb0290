"""Token counts in the embedder's own tokenizer, for sizing chunks.

The ``Embedder`` protocol exposes no tokenizer, so this loads the tokenizer from
the same model folder the embedder uses (offline, once per process).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from models import DEFAULT_EMBED_MODEL_ID, default_embed_model_path
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.chunking import TokenCounter

_DEFAULT_NAMES = frozenset({DEFAULT_EMBED_MODEL_ID, "all-MiniLM-L6-v2"})


def token_counter(settings: StreamwiseSettings) -> TokenCounter:
    """``count(text)``: word pieces the configured embedder sees, without special tokens."""
    return _counter(settings.embed_model)


@functools.cache
def _counter(model: str | None) -> TokenCounter:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoTokenizer  # noqa: PLC0415 - heavy, loaded with the model
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    # counting long texts is the point: no length warnings
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    source = model
    if model is None or model in _DEFAULT_NAMES:
        source = str(default_embed_model_path())
    elif Path(model).expanduser().exists():
        source = str(Path(model).expanduser().resolve())
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    return count
