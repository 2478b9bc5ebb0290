"""Enrichment of one feedback item: mask, look up the cache, analyze, validate, merge.

Pure apart from the analyzer it is given and the cache view over Quix state: testable
with a dict-backed state and a counting analyzer, no broker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from quixstreams.state.base import State

from models import validate_answer
from pipelines.common.events import EnrichedFeedback, Feedback
from pipelines.common.metrics import record_cache_lookup
from pipelines.common.text.pii import mask_pii
from pipelines.feedback.analyzers.base import Analysis, Analyzer
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
    """Analyzes each distinct text once per analyzer identity; later copies come from state."""

    def __init__(self, analyzer: Analyzer, schema: dict[str, Any], cache_ttl: timedelta) -> None:
        self._analyzer, self._schema, self._ttl = analyzer, schema, cache_ttl

    def enrich(self, feedback: Feedback, state: State[str, Any]) -> Enriched:
        """Raises ``ModelOutputInvalid`` (schema) or the analyzer's errors; caches no failure."""
        clean = masked(feedback)
        cache = AnalysisCache(state, ttl=self._ttl)
        cached = cache.get(self._analyzer.identity)
        record_cache_lookup("feedback-analysis", hit=cached is not None)
        if cached is not None:
            analysis, from_cache = Analysis.from_json(cached), True
        else:
            analysis, from_cache = self._analyzer.analyze(clean.text.strip()), False
            validate_answer(analysis.to_json(), self._schema)
            cache.put(self._analyzer.identity, analysis.to_json())
        event = EnrichedFeedback.model_validate(
            {**clean.model_dump(by_alias=True), **analysis.to_json()}
        )
        return Enriched(event, analysis.vector, from_cache)
