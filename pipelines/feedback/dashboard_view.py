"""What the dashboard shows, computed from the records it has read: pure and bounded.

``DashboardView`` is fed the decoded records of ``feedback-insights``, ``feedback-alerts``
and ``feedback-enriched`` and answers with one JSON summary: the latest windows in time
order, totals over them, the latest alerts and items. Category and key-phrase totals add
up each window's top five, so they rank what was common, not every rare label.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

JsonDict = dict[str, Any]

INSIGHTS = "feedback-insights"
ALERTS = "feedback-alerts"
ENRICHED = "feedback-enriched"
TOPICS = (INSIGHTS, ALERTS, ENRICHED)


class DashboardView:
    """The latest ``windows`` insights (by window start), ``alerts`` alerts and ``items`` items."""

    def __init__(self, windows: int = 60, alerts: int = 20, items: int = 20) -> None:
        self._windows: dict[str, JsonDict] = {}
        self._keep_windows = windows
        self._alerts: dict[str, JsonDict] = {}
        self._keep_alerts = alerts
        self._items: deque[JsonDict] = deque(maxlen=items)
        self._lock = threading.Lock()

    def add(self, topic: str, value: JsonDict) -> None:
        """One record of a dashboard topic (unprefixed name); others are ignored."""
        with self._lock:
            if topic == INSIGHTS:
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
                self._items.append(value)

    def summary(self) -> JsonDict:
        with self._lock:
            windows = [self._windows[start] for start in sorted(self._windows)]
            alerts = sorted(self._alerts.values(), key=lambda a: a["window_start"], reverse=True)
            items = list(reversed(self._items))
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
        }


def _ranked(counts: Counter[str], n: int = 8) -> list[JsonDict]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": name, "count": count} for name, count in ranked]
