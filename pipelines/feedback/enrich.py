"""Enrichment of one feedback item: mask, look up the cache, or wait for the batcher; merge.

Pure apart from the cache view over Quix state: testable with a dict-backed state, no
broker. The model calls are the batcher's (``batching.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quixstreams.state.base import State

from pipelines.common.events import EnrichedFeedback, Feedback
from pipelines.common.metrics import record_cache_lookup
from pipelines.common.text.pii import mask_pii
from pipelines.feedback.analyzers.base import Analysis
from pipelines.feedback.analyzers.versions import AnalyzerVersions
from pipelines.feedback.batching import AnalysisFailed, Pending, pending, read_answer
from state.feedback import AnalysisCache

# Identifiers and enumerations are not free text; everything else a producer sends may be.
_NOT_FREE_TEXT = frozenset({"feedback_id", "ts", "source", "rating"})


def masked(feedback: Feedback) -> Feedback:
    """``feedback`` with personal data masked in every free-text field, extras included."""
    fields = feedback.model_dump(by_alias=True)
    updates = {
        name: mask_pii(value)
        for name, value in fields.items()
        if isinstance(value, str) and name not in _NOT_FREE_TEXT
    }
    return Feedback.model_validate({**fields, **updates})


class FromTheFuture(ValueError):
    """An item stamped later than the clock allows: it would end every open window early
    (and Kafka refuses timestamps over an hour ahead), so it is dead-lettered instead."""


def check_clock(feedback: Feedback, now: datetime, max_skew: timedelta) -> Feedback:
    """``feedback`` unchanged, unless its ``ts`` lies more than ``max_skew`` after ``now``."""
    if feedback.ts > now + max_skew:
        msg = f"ts {feedback.ts.isoformat()!r} is more than {max_skew} ahead of {now.isoformat()!r}"
        raise FromTheFuture(msg)
    return feedback


def text_key(feedback: Feedback) -> str:
    """The cache key of an item: the hash of exactly what a model would see."""
    return hashlib.sha256(mask_pii(feedback.text).strip().encode()).hexdigest()


@dataclass(frozen=True)
class Enriched:
    """An enriched item on its way out, with the text vector if the analyzer made one."""

    event: EnrichedFeedback
    vector: tuple[float, ...] | None
    from_cache: bool


class Enricher:
    """Analyzes each distinct text once per analyzer identity; later copies come from state.

    The identity is that of the version in effect at the item's time (``versions``), so
    a replayed item finds the analysis it got the first time, and a later copy of a text
    after a refit is analyzed again by the refit.

    The step of the feedback pipeline after the repartition by text: an item either
    leaves enriched from the cache, or goes to the batcher (``batching.py``) as a
    ``Pending``; the batcher's answer record comes back through the same topic and key,
    and ``on_answer`` caches it and lets the item leave.
    """

    def __init__(self, versions: AnalyzerVersions, cache_ttl: timedelta) -> None:
        self._versions, self._ttl = versions, cache_ttl

    def step(
        self, feedback: Feedback, _key: Any, _timestamp: int, headers: Any, state: State[str, Any]
    ) -> Enriched | Pending:
        """Quix's stateful step with metadata: an item as it arrives, or its answer."""
        answer = read_answer(headers)
        if answer is None:
            return self.on_item(feedback, state)
        return self.on_answer(feedback, answer, state)

    def on_item(self, feedback: Feedback, state: State[str, Any]) -> Enriched | Pending:
        """A cached analysis if the text has one and none of its items is in flight."""
        clean = masked(feedback)
        identity = self._versions.at(feedback.ts).identity
        cache = AnalysisCache(state, ttl=self._ttl)
        cached = cache.get(identity)
        record_cache_lookup("feedback-analysis", hit=cached is not None)
        analysis = Analysis.from_json(cached) if cached is not None else None
        if analysis is not None and not cache.in_flight():
            return _enriched(clean, analysis, from_cache=True)
        cache.set_in_flight(cache.in_flight() + 1)
        return pending(feedback, clean.text.strip(), identity, analysis)

    def on_answer(
        self, feedback: Feedback, answer: Analysis | AnalysisFailed, state: State[str, Any]
    ) -> Enriched:
        """Cache the batcher's analysis and enrich the item; raise its failure (a dead letter)."""
        cache = AnalysisCache(state, ttl=self._ttl)
        cache.set_in_flight(max(0, cache.in_flight() - 1))
        if isinstance(answer, AnalysisFailed):
            raise answer
        identity = self._versions.at(feedback.ts).identity
        cached = cache.get(identity)
        if cached is None:
            cache.put(identity, answer.to_json())
        return _enriched(masked(feedback), answer, from_cache=cached is not None)


def _enriched(clean: Feedback, analysis: Analysis, *, from_cache: bool) -> Enriched:
    event = EnrichedFeedback.model_validate(
        {**clean.model_dump(by_alias=True), **analysis.to_json()}
    )
    return Enriched(event, analysis.vector, from_cache)
