"""The console's knowledge page, computed from the records it has read: pure and bounded.

``KnowledgeView`` is fed ``answer-kpis`` (one record per window of answer time, re-emitted
as ratings arrive: the latest record of a window replaces the earlier ones),
``kb-changes`` and ``answers``.

What "applied" means here, and why two figures: the knowledge pipeline exposes no
per-document manifest on a topic. ``kb-changes`` says which version of each document
was *published* (the latest version seen per ``doc_id``, deletes included); the index
applies them asynchronously. ``answers`` carry ``index_version``: the sum of the
document versions the index had applied when it answered (``knowledge.index.Manifest``).
So the page shows, per document, the latest version published on ``kb-changes``, and
beside it the ``index_version`` the latest answer reported together with the sum of the
published versions: when the two sums are equal, the answers were given from an index
that had applied every change seen; when the published sum is larger, changes are
still waiting to be applied (or no question was asked since). Which documents lag
cannot be told from the topics, only that some do.
"""

from __future__ import annotations

import threading
from typing import Any

JsonDict = dict[str, Any]

KPIS = "answer-kpis"
KB_CHANGES = "kb-changes"
ANSWERS = "answers"
WINDOW_FIGURES = ("window_start", "window_end", "answers", "rated", "satisfaction",
                  "latency_p50_ms", "latency_p95_ms")  # fmt: skip


class KnowledgeView:
    """The latest ``windows`` KPI windows, the documents' versions and the latest answer."""

    def __init__(self, *, windows: int = 48, documents: int = 500) -> None:
        self._windows: dict[str, JsonDict] = {}
        self._keep_windows = windows
        self._documents: dict[str, JsonDict] = {}
        self._keep_documents = documents
        self._versions_sum = 0  # over every document seen, also those no longer listed
        self._versions: dict[str, int] = {}
        self._latest_answer: JsonDict | None = None
        self._lock = threading.Lock()

    def add(self, topic: str, value: JsonDict) -> None:
        """One record of a knowledge topic (unprefixed name); others are ignored.

        A change's text is not kept: the page shows versions, and a document may be long.
        """
        with self._lock:
            if topic == KPIS:
                self._windows[value["window_start"]] = value
                for start in sorted(self._windows)[: -self._keep_windows]:
                    del self._windows[start]
            elif topic == KB_CHANGES:
                self._change(value)
            elif topic == ANSWERS:
                self._latest_answer = {
                    k: value.get(k) for k in ("question_id", "index_version", "status", "ts")
                }

    def _change(self, value: JsonDict) -> None:
        doc_id, version = value["doc_id"], int(value["version"])
        if version < self._versions.get(doc_id, -1):
            return  # an older change read late: the index ignores it too
        self._versions_sum += version - self._versions.get(doc_id, 0)
        self._versions[doc_id] = version
        self._documents.pop(doc_id, None)
        self._documents[doc_id] = {
            "doc_id": doc_id,
            "version": version,
            "op": value.get("op"),
            "title": value.get("title"),
            "ts": value.get("ts"),
        }
        while len(self._documents) > self._keep_documents:
            del self._documents[next(iter(self._documents))]

    def summary(self) -> JsonDict:
        """What the page draws: the latest window's KPIs as published, the windows in time
        order, the documents most recently changed first, and the two version sums."""
        with self._lock:
            windows = [self._windows[start] for start in sorted(self._windows)]
            documents = list(reversed(self._documents.values()))
            answer = self._latest_answer
            published = self._versions_sum
        return {
            "latest": windows[-1] if windows else None,
            "windows": [{k: w.get(k) for k in WINDOW_FIGURES} for w in windows],
            "documents": documents,
            "published_versions_sum": published,
            "latest_answer": answer,
            "index_caught_up": None if answer is None else answer["index_version"] >= published,
        }
