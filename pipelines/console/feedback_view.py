"""What the console's feedback page shows, computed from the records it has read: pure and bounded.

``DashboardView`` is fed the decoded records of ``feedback-insights``, ``feedback-alerts``
and ``feedback-enriched`` and answers with one JSON summary: the latest windows in time
order, totals over them, the latest alerts and items, and the windows still open.
Category and key-phrase totals add up each window's top five, so they rank what was
common, not every rare label.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from datetime import datetime, timedelta
from typing import Any, get_args

from pipelines.common.epoch import duration_ms, from_ms, to_ms
from pipelines.common.events import Sentiment
from pipelines.common.text.pii import mask_pii

JsonDict = dict[str, Any]
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)

INSIGHTS = "feedback-insights"
ALERTS = "feedback-alerts"
ENRICHED = "feedback-enriched"


class OpenWindows:
    """The insight windows not closed yet, counted from the enriched items: provisional.

    Windows close on event time, not on the wall clock: Quix closes one only when an
    item stamped at or after its end plus the grace arrives. Until then
    ``feedback-insights`` holds nothing for it, so a small file or a pause leaves its
    last items out of every insight. Counting the enriched items of the windows that
    the latest item read has not closed shows what they hold so far. A window is
    dropped once an item closes it or its insight is read; items too late for a window
    (Quix leaves them out of it) are left out here too. At most ``grace / window + 1``
    windows are open at a time, each a few counters.
    """

    def __init__(self, window: timedelta, grace: timedelta) -> None:
        self._window_ms, self._grace_ms = duration_ms(window), duration_ms(grace)
        self._latest_ms = 0  # the latest item's event time: the clock Quix closes windows by
        self._closed_through_ms = -1  # windows starting at or before it had their insight read
        self._sentiments: dict[int, Counter[str]] = {}  # window start -> sentiment counts

    def item(self, item: JsonDict) -> None:
        """Count one ``feedback-enriched`` record in its window, if that is still open."""
        ts_ms = to_ms(datetime.fromisoformat(item["ts"]))
        sentiment = str(item["sentiment"])
        self._latest_ms = max(self._latest_ms, ts_ms)
        start = ts_ms - ts_ms % self._window_ms  # tumbling windows start at epoch multiples
        if self._is_open(start):
            self._sentiments.setdefault(start, Counter())[sentiment] += 1
        self._drop_closed()

    def closed(self, insight: JsonDict) -> None:
        """A ``feedback-insights`` record: its window and every earlier one are closed."""
        start = to_ms(datetime.fromisoformat(insight["window_start"]))
        self._closed_through_ms = max(self._closed_through_ms, start)
        self._drop_closed()

    def summary(self) -> list[JsonDict]:
        """The open windows, earliest first, with the event time that will close each."""
        return [
            {
                "window_start": _iso(start),
                "window_end": _iso(start + self._window_ms),
                "closes_at": _iso(start + self._window_ms + self._grace_ms),
                "count": sum(counts.values()),
                "sentiment_counts": {s: counts[s] for s in SENTIMENTS},
            }
            for start, counts in sorted(self._sentiments.items())
        ]

    def _is_open(self, start: int) -> bool:
        closes_at = start + self._window_ms + self._grace_ms
        return start > self._closed_through_ms and closes_at > self._latest_ms

    def _drop_closed(self) -> None:
        for start in [start for start in self._sentiments if not self._is_open(start)]:
            del self._sentiments[start]


def _iso(ms: int) -> str:
    """An epoch-ms instant written as insights write theirs (``2026-11-20T10:02:00Z``)."""
    return from_ms(ms).isoformat().replace("+00:00", "Z")


class DashboardView:
    """The latest ``windows`` insights (by window start), ``alerts`` alerts and ``items``
    items, and the open windows (``window`` and ``grace`` as the pipeline's)."""

    def __init__(
        self,
        window: timedelta,
        grace: timedelta,
        *,
        windows: int = 60,
        alerts: int = 20,
        items: int = 20,
    ) -> None:
        self._open = OpenWindows(window, grace)
        self._windows: dict[str, JsonDict] = {}
        self._keep_windows = windows
        self._alerts: dict[str, JsonDict] = {}
        self._keep_alerts = alerts
        self._items: deque[JsonDict] = deque(maxlen=items)
        self._lock = threading.Lock()

    def add(self, topic: str, value: JsonDict) -> None:
        """One record of a dashboard topic (unprefixed name); others are ignored.

        Free text is masked again here: the feedback pipeline publishes it masked, but
        anyone allowed to write these topics could bypass it, and the page is the last
        place personal data could leak from.
        """
        value = _masked(value)
        with self._lock:
            if topic == INSIGHTS:
                self._open.closed(value)
                self._windows[value["window_start"]] = value  # a re-emitted window replaces
                for start in sorted(self._windows)[: -self._keep_windows]:
                    del self._windows[start]
            elif topic == ALERTS:
                self._alerts[value["alert_id"]] = value  # same alert, same id: shown once
                for alert_id in sorted(self._alerts, key=lambda a: self._alerts[a]["window_start"])[
                    : -self._keep_alerts
                ]:
                    del self._alerts[alert_id]
            elif topic == ENRICHED:
                self._open.item(value)
                self._items.append(value)

    def summary(self) -> JsonDict:
        """What the page draws. ``totals`` add up closed windows only (their insights);
        ``open_windows`` are counted apart, as provisional figures."""
        with self._lock:
            windows = [self._windows[start] for start in sorted(self._windows)]
            alerts = sorted(self._alerts.values(), key=lambda a: a["window_start"], reverse=True)
            items = list(reversed(self._items))
            open_windows = self._open.summary()
        categories: Counter[str] = Counter()
        phrases: Counter[str] = Counter()
        sources: Counter[str] = Counter()
        sentiments: Counter[str] = Counter()
        rated_sum = rated_windows = 0.0
        for window in windows:
            categories.update({c["category"]: c["count"] for c in window["top_categories"]})
            phrases.update({p["phrase"]: p["count"] for p in window["top_key_phrases"]})
            sources.update(window["source_counts"])
            sentiments.update(window["sentiment_counts"])
            if window.get("avg_rating") is not None:
                rated_sum += window["avg_rating"] * window["count"]
                rated_windows += window["count"]
        return {
            "windows": [
                {
                    "window_start": w["window_start"],
                    "window_end": w["window_end"],
                    "count": w["count"],
                    "sentiment_counts": w["sentiment_counts"],
                    "avg_rating": w.get("avg_rating"),
                }
                for w in windows
            ],
            "totals": {
                "count": sum(w["count"] for w in windows),
                "sentiment_counts": dict(sentiments),
                "avg_rating": round(rated_sum / rated_windows, 2) if rated_windows else None,
            },
            "top_categories": _ranked(categories),
            "top_key_phrases": _ranked(phrases),
            "sources": _ranked(sources),
            "alerts": alerts,
            "latest": items,
            "open_windows": open_windows,
        }


def _masked(value: JsonDict) -> JsonDict:
    """``value`` with its free text masked: an item's text and phrases, alert examples,
    insight phrases (the fields that hold what customers wrote)."""
    masked = dict(value)
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_pii(masked["text"])
    for field in ("key_phrases", "examples"):
        if isinstance(masked.get(field), list):
            masked[field] = [mask_pii(v) if isinstance(v, str) else v for v in masked[field]]
    if isinstance(masked.get("top_key_phrases"), list):
        masked["top_key_phrases"] = [
            {**p, "phrase": mask_pii(p["phrase"])} if isinstance(p, dict) and "phrase" in p else p
            for p in masked["top_key_phrases"]
        ]
    return masked


def _ranked(counts: Counter[str], n: int = 8) -> list[JsonDict]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": name, "count": count} for name, count in ranked]
