"""The pipelines ``streamwise run`` knows: name -> module with ``main(settings)`` and a summary."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from pipelines.common.settings import StreamwiseSettings


class PipelineEntry(NamedTuple):
    module: str
    summary: str


PIPELINES: dict[str, PipelineEntry] = {}


def runner(name: str) -> Callable[[StreamwiseSettings], None]:
    """The ``main`` of pipeline ``name``, imported on demand (pipelines load heavy models)."""
    entry = PIPELINES[name]
    main: Callable[[StreamwiseSettings], None] = importlib.import_module(entry.module).main
    return main
