"""A small GGUF re-laid out as Q8_0 for llama.cpp's fast prompt kernels, built once.

Prompt evaluation is most of an LLM step here: a RAG answer evaluates ~800 prompt
tokens and generates ~40. llama.cpp evaluates a prompt in batches through matrix
kernels (llamafile's tinyBLAS) that exist for Q8_0, Q4_0, Q5_0, IQ4_NL and the float
types but not for Q4_1, the type the bundled SmolLM2 ships in, nor the K-quants; those
fall back to one dot product per row and token. Measured on these 2 cores: Q4_1
evaluates 358 prompt tokens/s, the same weights as Q8_0 540, and 697 with flash
attention (``bench/llm.py`` keeps the figures). Q8_0 holds each weight of a 4-, 5- or
6-bit type to within half a step of 1/127 of its block's largest value, so there is
no quantisation loss worth the name (re-quantising to Q4_0 would lose some), at about
1.5 times the file (98 to 145 MB for SmolLM2).

``auto`` (``STREAMWISE_LLM_REQUANTIZE``) applies this to files under ``AUTO_MAX_BYTES``:
small models, where the copy is cheap and the CPU is the limit. A 7B model would
nearly double its memory, which is the user's choice to make, not ours.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import Literal

from models.derived import partial_path, stat_digest
from models.errors import ModelConfigError

logger = logging.getLogger(__name__)

Requantize = Literal["auto", "off"]
AUTO_MAX_BYTES = 1 << 30

_build_lock = threading.Lock()


def fast_weights(path: Path, cache_dir: Path, mode: Requantize = "auto") -> Path:
    """``path``, or its Q8_0 copy in ``cache_dir`` (built the first time) when ``mode``
    and the file's weight type call for one."""
    if mode == "off" or path.stat().st_size > AUTO_MAX_BYTES:
        return path
    import llama_cpp  # noqa: PLC0415 - a compiled extension, loaded on use

    # Types tinyBLAS evaluates in batches, or that Q8_0 would not shrink: kept.
    kept = {
        llama_cpp.LLAMA_FTYPE_ALL_F32, llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
        llama_cpp.LLAMA_FTYPE_MOSTLY_BF16, llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
        llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
        llama_cpp.LLAMA_FTYPE_MOSTLY_IQ4_NL,
    }  # fmt: skip
    file_type = _file_type(path)
    if file_type is None or file_type in kept:
        return path
    dest = cache_dir / f"{path.stem}-{stat_digest([path])[:16]}.q8_0.gguf"
    with _build_lock:
        if not dest.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            _requantize(path, dest)
    return dest


def _file_type(path: Path) -> int | None:
    """The GGUF's ``general.file_type``, read with the vocabulary only (no weights)."""
    from llama_cpp import Llama  # noqa: PLC0415
    from llama_cpp._utils import suppress_stdout_stderr  # noqa: PLC0415 - its log spam

    try:
        with suppress_stdout_stderr(disable=False):
            vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
        raw = vocab.metadata.get("general.file_type")
    except ValueError as exc:
        msg = f"cannot read GGUF model {str(path)!r}: {exc}"
        raise ModelConfigError(msg) from exc
    return int(raw) if raw is not None else None


def _requantize(source: Path, dest: Path) -> None:
    import llama_cpp  # noqa: PLC0415
    from llama_cpp._utils import suppress_stdout_stderr  # noqa: PLC0415

    logger.info(
        "re-laying out %s as Q8_0 for faster prompts (once) into %s; "
        "STREAMWISE_LLM_REQUANTIZE=off keeps the file as it is",
        source.name,
        dest,
    )
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    partial = partial_path(dest)
    with suppress_stdout_stderr(disable=False):
        failed = llama_cpp.llama_model_quantize(
            str(source).encode(), str(partial).encode(), ctypes.byref(params)
        )
    if failed:
        partial.unlink(missing_ok=True)
        msg = f"llama.cpp could not re-lay out {str(source)!r} as Q8_0 (code {failed})"
        raise ModelConfigError(msg)
    partial.replace(dest)  # a crash mid-write never leaves a half file under the real name
