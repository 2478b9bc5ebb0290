"""Low-rank adapters (LoRA) for an embedding model, merged into its weights at load time.

A copy of the embedding model fine-tuned for one task (sentiment, say) would weigh as
much as the model, 90 MB for all-MiniLM-L6-v2. A low-rank adapter stores only two thin
factors per adapted linear layer, ``A`` (rank x inputs) and ``B`` (outputs x rank), a
few hundred kB in all, and ``W + scale * B @ A`` rebuilds the tuned weight when the
model loads. Once merged, the tuned model runs exactly as fast as the base model.

The adapter only makes sense on the model it was trained on: ``merge_into`` checks
every layer's name and shape and refuses a mismatch instead of producing noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from models.errors import ModelConfigError

if TYPE_CHECKING:
    from torch import nn

Matrix = npt.NDArray[np.float32]
_SCALE = "__scale__"
_SEPARATOR = "::"


@dataclass(frozen=True)
class LowRankAdapter:
    """``{layer name: (A, B)}`` and the scale their product is multiplied by."""

    scale: float
    factors: dict[str, tuple[Matrix, Matrix]]

    @property
    def digest(self) -> str:
        """Short content hash: part of the adapted model's id, so caches tell models apart."""
        sha = hashlib.sha256(repr(self.scale).encode())
        for name in sorted(self.factors):
            a, b = self.factors[name]
            sha.update(name.encode() + a.tobytes() + b.tobytes())
        return sha.hexdigest()[:12]

    def save(self, path: Path) -> None:
        """Write the factors as float16 (half the size; the merge is done in float32)."""
        arrays = {_SCALE: np.asarray(self.scale, dtype=np.float32)}
        for name, (a, b) in self.factors.items():
            arrays[f"{name}{_SEPARATOR}A"] = a.astype(np.float16)
            arrays[f"{name}{_SEPARATOR}B"] = b.astype(np.float16)
        with path.open("wb") as out:
            np.savez_compressed(out, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> LowRankAdapter:
        try:
            stored = np.load(path)
        except (OSError, ValueError) as exc:
            msg = f"cannot read the low-rank adapter {str(path)!r}: {exc}"
            raise ModelConfigError(msg) from exc
        names = sorted({key.rsplit(_SEPARATOR, 1)[0] for key in stored.files if key != _SCALE})
        factors = {
            name: (
                stored[f"{name}{_SEPARATOR}A"].astype(np.float32),
                stored[f"{name}{_SEPARATOR}B"].astype(np.float32),
            )
            for name in names
        }
        return cls(scale=float(stored[_SCALE]), factors=factors)

    def merge_into(self, model: nn.Module) -> None:
        """Add ``scale * B @ A`` to each named linear layer's weight, in place."""
        import torch  # noqa: PLC0415 (heavy: only when a model is loaded)

        layers = dict(model.named_modules())
        for name, (a, b) in self.factors.items():
            layer = layers.get(name)
            weight = getattr(layer, "weight", None)
            expected = (b.shape[0], a.shape[1])
            if weight is None or tuple(weight.shape) != expected:
                found = "no such layer" if weight is None else f"shape {tuple(weight.shape)}"
                msg = f"adapter layer {name!r} expects a weight of {expected}; the model: {found}"
                raise ModelConfigError(msg)
            with torch.no_grad():
                weight += self.scale * torch.from_numpy(b @ a).to(weight.dtype)
