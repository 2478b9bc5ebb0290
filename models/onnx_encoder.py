"""The same sentence-transformers model run by onnxruntime, optionally with int8 weights.

``STREAMWISE_EMBED_BACKEND=onnx`` runs the model's transformer as an ONNX graph,
``onnx-int8`` that graph with its weights quantized to int8 (onnxruntime's dynamic
quantization: weights stored as int8, activations quantized on the fly, so no
calibration set is needed). Pooling and normalisation are MiniLM's own (mean over the
attention mask, then L2), done in numpy.

Why not sentence-transformers' own ``backend="onnx"``: it needs ``optimum-onnx``, which
pins transformers below 4.58, and this resolve has transformers 5. The graph is exported
here instead with torch's own exporter, once per model, adapter and precision, into a
cache folder (``STREAMWISE_MODEL_CACHE``, else the data dir's ``models``), never
downloaded: the first start builds it (seconds), later starts load it without torch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.derived import partial_path, stat_digest
from models.embeddings import TokenVectors, Vectors, load_sentence_transformer, resolve_model
from models.errors import ModelConfigError
from models.lora import LowRankAdapter

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

ONNX_BACKENDS = ("onnx", "onnx-int8")
_OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BATCH_TOKENS = 2048
"""Padded tokens per encoder call at most. A fixed count of texts per call fits one
length only: measured with MiniLM on 2 cores (median of 6), 243 knowledge chunks of up
to 200 tokens took 3.52 s at 32 per call and 3.09 s within this budget (about 10 per
call), while 600 reviews of 17 tokens took 0.83 and 0.81 s (32 per call either way)."""


class OnnxEmbedder:
    """A ``TokenEmbedder`` on onnxruntime, fp32 or int8, fully offline.

    ``model`` and ``adapter`` mean what they mean for ``SentenceTransformerEmbedder``.
    The int8 model's vectors are close to, not equal to, the fp32 ones, so its
    ``model_id`` says ``+int8``: a vector store never mixes the two.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        cache_dir: Path,
        int8: bool,
        batch_size: int = 32,
        batch_tokens: int = BATCH_TOKENS,
        threads: int | None = None,
        adapter: LowRankAdapter | None = None,
    ) -> None:
        source, self.model_id = resolve_model(model)
        _require_mean_pooling(Path(source))
        if adapter is not None:
            self.model_id += f"+lora-{adapter.digest}"
        if int8:
            self.model_id += "+int8"
        graph = exported_graph(source, adapter, cache_dir, int8=int8)
        self._session = _session(graph, threads)
        self._tokenizer = _tokenizer(source)
        self._max_length = _max_seq_length(Path(source))
        self._batch_size, self._batch_tokens = batch_size, batch_tokens
        self.dimension = int(self.embed_tokens(["dimension probe"])[0].vector.shape[0])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if isinstance(texts, str):  # a str is a Sequence[str]: one vector per character
            msg = f"embed takes a sequence of texts, not one str: {texts[:40]!r}"
            raise TypeError(msg)
        return [embedded.vector.tolist() for embedded in self.embed_tokens(texts)]

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Batches of similar length (as sentence-transformers sorts them), so little padding."""
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), truncation=True, max_length=self._max_length)
        ids: list[list[int]] = encoded["input_ids"]
        out: list[TokenVectors | None] = [None] * len(ids)
        for chunk in padded_batches([len(i) for i in ids], self._batch_size, self._batch_tokens):
            for i, embedded in zip(chunk, self._run([ids[i] for i in chunk]), strict=True):
                out[i] = embedded
        return [embedded for embedded in out if embedded is not None]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        ids: list[list[int]] = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def _run(self, batch: list[list[int]]) -> list[TokenVectors]:
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask,
                 "token_type_ids": np.zeros_like(input_ids)}  # fmt: skip
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        embedded = []
        for row, ids in enumerate(batch):
            tokens: Vectors = hidden[row, : len(ids)].astype(np.float32)
            mean = tokens.mean(axis=0)
            embedded.append(TokenVectors(mean / np.linalg.norm(mean), tokens, tuple(ids)))
        return embedded


def exported_graph(
    source: str, adapter: LowRankAdapter | None, cache_dir: Path, *, int8: bool
) -> Path:
    """The ONNX graph of ``source`` (with ``adapter`` merged), built once into ``cache_dir``."""
    key = hashlib.sha256(
        json.dumps([_weights_digest(Path(source)), adapter.digest if adapter else None]).encode()
    ).hexdigest()[:16]
    fp32 = cache_dir / f"{Path(source).name}-{key}.onnx"
    wanted = fp32.with_suffix(".int8.onnx") if int8 else fp32
    with _export_lock:
        if wanted.is_file():
            return wanted
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not fp32.is_file():
            _export(source, adapter, fp32)
        if int8:
            _quantize(fp32, wanted)
    return wanted


_export_lock = threading.Lock()


def _export(source: str, adapter: LowRankAdapter | None, dest: Path) -> None:
    import torch  # noqa: PLC0415 - only to build the graph, once

    logger.info("exporting %s to ONNX (once) into %s", source, dest)
    transformer = load_sentence_transformer(source, None, adapter).model[0].auto_model
    if not isinstance(transformer, torch.nn.Module):
        msg = f"{source!r} has no transformer module to export"
        raise ModelConfigError(msg)

    class LastHiddenState(torch.nn.Module):
        """The transformer called by keyword, giving one tensor: what the graph exposes."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            outputs = self.inner(**dict(zip(_INPUTS, inputs, strict=True)))
            hidden: torch.Tensor = outputs[0]
            return hidden

    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    partial = partial_path(dest)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
        torch.onnx.export(
            LastHiddenState(transformer).eval(), example, str(partial), input_names=list(_INPUTS),
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=_OPSET,
            dynamo=False,
        )  # fmt: skip
    partial.replace(dest)  # a crash mid-export never leaves a half file under the real name


def _quantize(fp32: Path, dest: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415
    except ImportError as exc:
        msg = "STREAMWISE_EMBED_BACKEND=onnx-int8 needs the onnx package: pip install onnx"
        raise ModelConfigError(msg) from exc
    logger.info("quantizing %s to int8 (once)", fp32.name)
    partial = partial_path(dest)
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # it advises shape pre-processing on the root logger, always
    try:
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    partial.replace(dest)


@functools.cache
def _session(graph: Path, threads: int | None) -> InferenceSession:
    """One session per process, graph and thread count: embedders built twice (the
    analyzer's and the vector sink's) share it, as torch models share their weights.
    onnxruntime sessions may be run from several threads at once."""
    import onnxruntime  # noqa: PLC0415 - heavy; only when this backend is chosen

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings are about graph fusions
    return onnxruntime.InferenceSession(
        str(graph), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _tokenizer(source: str) -> PreTrainedTokenizerBase:
    """One per embedder, never shared: a call with ``truncation`` reconfigures the Rust
    tokenizer, and another thread using it meanwhile fails ("Already borrowed")."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer  # noqa: PLC0415 - no torch needed for this

    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
        source, local_files_only=True
    )
    return tokenizer


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        msg = f"cannot read {str(path)!r} of the embedding model: {exc}"
        raise ModelConfigError(msg) from exc


def _require_mean_pooling(folder: Path) -> None:
    """This backend pools as MiniLM does; a model pooling otherwise must use torch."""
    config = _read_json(folder / "1_Pooling" / "config.json")
    if not config.get("pooling_mode_mean_tokens") or any(
        config.get(mode) for mode in ("pooling_mode_cls_token", "pooling_mode_max_tokens")
    ):
        msg = (
            f"the ONNX backends pool by the mean of the tokens; {folder.name!r} pools "
            "otherwise: use STREAMWISE_EMBED_BACKEND=torch"
        )
        raise ModelConfigError(msg)


def _max_seq_length(folder: Path) -> int:
    return int(_read_json(folder / "sentence_bert_config.json").get("max_seq_length", 256))


def _weights_digest(folder: Path) -> str:
    return stat_digest([p for p in folder.iterdir() if p.suffix in {".safetensors", ".bin"}])


def padded_batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indexes of ``lengths`` in encoder calls: longest first, so a call pads little, each
    call at most ``max_rows`` rows and ``max_tokens`` padded tokens (always one row)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches:
            batch = batches[-1]
            width = lengths[batch[0]]  # the longest row: the call pads every row to it
            if len(batch) < max_rows and (len(batch) + 1) * width <= max_tokens:
                batch.append(i)
                continue
        batches.append([i])
    return batches
