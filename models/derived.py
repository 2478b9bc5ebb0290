"""Files derived from shipped weights (ONNX graphs, re-laid-out GGUFs), written safely.

Several pipelines may start together on one model cache and each build the same file.
Each writes its own per-process partial file and renames it into place: the rename is
atomic, so every reader sees a whole file or none, whoever wins.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def partial_path(dest: Path) -> Path:
    """Where this process writes ``dest`` before renaming it into place."""
    return dest.with_name(f"{dest.name}.{os.getpid()}.partial")


def stat_digest(paths: list[Path]) -> str:
    """Changes when the files do (name, size and mtime): a derived file is never reused
    for other weights that came to the same path."""
    stats = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in paths)
    return hashlib.sha256(repr(stats).encode()).hexdigest()
