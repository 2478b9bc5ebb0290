"""The analyzer in effect at each event time: the shipped one, then every refit shipped since.

A refit (``learning.py``) is published on ``feedback-classifier`` with ``effective_from``:
items stamped at or after it are analyzed by the refit, items stamped before it by the
version in effect at their time, whenever they are processed. So a replay of earlier
items analyzes them as the first time (same ``model``, same cache key, the cache hit
included), and only later items meet the new version. Event time is the one point
every partition and every replay agrees on; a processing position (an offset) is not,
since the repartition by text writes a replayed item at a new offset.

Thread-safe: the feed (``classifier_feed.py``) adds versions from its own thread.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pipelines.common.epoch import to_ms
from pipelines.common.events import FeedbackClassifier
from pipelines.feedback.analyzers.base import Analyzer
from pipelines.feedback.analyzers.prototypes import CategorySpace, Prototypes
from pipelines.feedback.analyzers.sentiment_head import Floats, SentimentHead

logger = logging.getLogger(__name__)


@runtime_checkable
class Learnable(Analyzer, Protocol):
    """An analyzer labels can teach: a sentiment head and category prototypes to refit."""

    model_id: str

    @property
    def head(self) -> SentimentHead: ...

    @property
    def taxonomy_space(self) -> CategorySpace: ...

    @property
    def category_space(self) -> CategorySpace: ...

    @property
    def learned(self) -> Prototypes: ...

    def refitted(self, head: SentimentHead, learned: Prototypes) -> Learnable: ...

    def lesson_inputs(self, texts: Sequence[str]) -> tuple[Floats, Floats]: ...


class AnalyzerVersions:
    """Every version this process knows, by the event time it takes effect."""

    def __init__(self, shipped: Analyzer) -> None:
        self.shipped = shipped
        self._lock = threading.Lock()
        self._starts: list[int] = []  # effective_from in epoch ms, sorted
        self._timeline: list[Analyzer] = []
        self._by_identity: dict[str, Analyzer] = {shipped.identity: shipped}
        self._records: dict[str, FeedbackClassifier] = {}
        self._latest_item_ms = 0

    def add(self, record: FeedbackClassifier) -> bool:
        """Take a shipped refit into use from its ``effective_from``; False if not taken."""
        base = self.shipped
        if not record.shipped or record.head is None or record.version in self._records:
            return False
        if not isinstance(base, Learnable):
            logger.warning("classifier version %s ignored: this analyzer learns nothing",
                           record.version)  # fmt: skip
            return False
        analyzer = base.refitted(SentimentHead.from_json(record.head), record.prototypes or {})
        if analyzer.model_id != record.model:
            logger.warning(
                "classifier version %s ignored: refit for %s, this pipeline runs %s",
                record.version, record.model, analyzer.model_id,
            )  # fmt: skip
            return False
        start = to_ms(record.effective_from)
        with self._lock:
            at = bisect.bisect_right(self._starts, start)
            self._starts.insert(at, start)
            self._timeline.insert(at, analyzer)
            self._by_identity[analyzer.identity] = analyzer
            self._records[record.version] = record
        logger.info("feedback classifier %s in effect from %s", record.version,
                    record.effective_from.isoformat())  # fmt: skip
        return True

    def knows(self, version: str) -> bool:
        with self._lock:
            return version in self._records

    def at(self, ts: datetime) -> Analyzer:
        """The analyzer for an item stamped ``ts``; notes the latest time seen so far."""
        ms = to_ms(ts)
        with self._lock:
            self._latest_item_ms = max(self._latest_item_ms, ms)
            at = bisect.bisect_right(self._starts, ms)
            return self._timeline[at - 1] if at else self.shipped

    def by_identity(self, identity: str) -> Analyzer:
        with self._lock:
            return self._by_identity[identity]

    def latest(self) -> Analyzer:
        """The version in effect last: what a refit is validated against."""
        with self._lock:
            return self._timeline[-1] if self._timeline else self.shipped

    @property
    def latest_item_ms(self) -> int:
        """The latest item time this process analyzed: a new version starts after it."""
        with self._lock:
            return self._latest_item_ms
