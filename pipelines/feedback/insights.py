"""Window aggregation of enriched feedback: the reducer Quix runs and the insight it yields.

The aggregate is plain JSON (Quix keeps window state as JSON); ``summarize`` turns a
closed window into the contract's ``FeedbackInsight``. The same aggregate feeds the
alert rules, which also need example ids per category and of negative items.
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from pipelines.common.epoch import from_ms, to_ms
from pipelines.common.events import EnrichedFeedback, FeedbackInsight

Aggregate = dict[str, Any]

TOP_N = 5
KEEP_EXAMPLES = 5
MAX_DISTINCT_PHRASES = 500
SENTIMENTS = ("positive", "neutral", "negative")
"""The keys of an insight's ``sentiment_counts``, every one present (zero if none)."""


def start(item: EnrichedFeedback) -> Aggregate:
    """The aggregate of a window holding only ``item``."""
    empty: Aggregate = {
        "count": 0,
        "sentiments": {},
        "rating_sum": 0,
        "rating_count": 0,
        "categories": {},
        "phrases": {},
        "sources": {},
        "category_examples": {},
        "negative_examples": [],
    }
    return add(empty, item)


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def add(agg: Aggregate, item: EnrichedFeedback) -> Aggregate:
    """``agg`` with ``item`` counted in.

    Distinct key phrases are capped at ``MAX_DISTINCT_PHRASES`` per window (phrases
    seen once are dropped first), which keeps each state write small on a busy window;
    top phrases stay exact unless a window has hundreds of distinct phrases seen twice.
    """
    agg["count"] += 1
    _bump(agg["sentiments"], item.sentiment)
    if item.rating is not None:
        agg["rating_sum"] += item.rating
        agg["rating_count"] += 1
    _bump(agg["categories"], item.category)
    for phrase in dict.fromkeys(item.key_phrases):
        _bump(agg["phrases"], phrase)
    if len(agg["phrases"]) > MAX_DISTINCT_PHRASES:
        agg["phrases"] = {p: n for p, n in agg["phrases"].items() if n > 1}
    _bump(agg["sources"], item.source)
    _keep_earliest(agg["category_examples"].setdefault(item.category, []), item)
    if item.sentiment == "negative":
        _keep_earliest(agg["negative_examples"], item)
    return agg


def _keep_earliest(examples: list[list[Any]], item: EnrichedFeedback) -> None:
    """Keep the ``KEEP_EXAMPLES`` earliest items in event time as ``[ts_ms, id]`` (ties by id).

    Partitions deliver a window's items in no fixed order, so keeping the first ones to
    arrive would give a replay different examples; the earliest are the same every time.
    """
    insort(examples, [to_ms(item.ts), item.feedback_id])
    del examples[KEEP_EXAMPLES:]


def example_ids(examples: list[list[Any]]) -> list[str]:
    """The feedback ids of kept examples, earliest first."""
    return [str(feedback_id) for _, feedback_id in examples]


def _top(counts: dict[str, int], field: str) -> list[dict[str, Any]]:
    """Most common first; ties broken by name so every replay ranks alike."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    return [{field: name, "count": count} for name, count in ranked]


def summarize(agg: Aggregate, start_ms: int, end_ms: int) -> FeedbackInsight:
    rating_count = agg["rating_count"]
    return FeedbackInsight(
        window_start=from_ms(start_ms),
        window_end=from_ms(end_ms),
        count=agg["count"],
        sentiment_counts={s: agg["sentiments"].get(s, 0) for s in SENTIMENTS},
        avg_rating=round(agg["rating_sum"] / rating_count, 3) if rating_count else None,
        top_categories=_top(agg["categories"], "category"),
        top_key_phrases=_top(agg["phrases"], "phrase"),
        source_counts=dict(sorted(agg["sources"].items())),
    )
