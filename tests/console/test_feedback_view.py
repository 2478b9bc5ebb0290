"""The dashboard's figures from the records it read: the open window beside the closed ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipelines.console.feedback_view import ALERTS, ENRICHED, INSIGHTS, DashboardView

SENTIMENTS = ["positive", "negative", "neutral", "negative", "positive"]


def item(fid: str, ts: str, sentiment: str) -> dict[str, Any]:
    return {"feedback_id": fid, "ts": ts, "source": "email", "text": f"text {fid}",
            "sentiment": sentiment, "sentiment_score": 0.0, "key_phrases": [],
            "category": "other", "model": "test"}  # fmt: skip


def view() -> DashboardView:
    return DashboardView(timedelta(minutes=1), timedelta(minutes=2))


def five_items(dashboard: DashboardView) -> None:
    """The small file of the walkthrough: five items within one minute."""
    for i, sentiment in enumerate(SENTIMENTS):
        dashboard.add(ENRICHED, item(f"f{i}", f"2026-11-20T10:02:{10 * i:02}Z", sentiment))


def test_five_items_no_later_one_show_as_the_open_window_not_as_count_0() -> None:
    dashboard = view()

    five_items(dashboard)

    summary = dashboard.summary()
    assert summary["totals"]["count"] == 0  # no window closed: nothing in the insights
    assert len(summary["latest"]) == 5
    assert summary["open_windows"] == [
        {
            "window_start": "2026-11-20T10:02:00Z",
            "window_end": "2026-11-20T10:03:00Z",
            "closes_at": "2026-11-20T10:05:00Z",
            "count": 5,
            "sentiment_counts": {"positive": 2, "neutral": 1, "negative": 2},
        }
    ]


def test_an_item_stamped_past_the_end_plus_grace_closes_the_open_window() -> None:
    dashboard = view()
    five_items(dashboard)

    dashboard.add(ENRICHED, item("late-1", "2026-11-20T10:04:59Z", "neutral"))
    [still_open, next_window] = dashboard.summary()["open_windows"]
    assert (still_open["count"], next_window["count"]) == (5, 1)

    dashboard.add(ENRICHED, item("closer", "2026-11-20T10:05:00Z", "neutral"))
    assert [w["window_start"] for w in dashboard.summary()["open_windows"]] == [
        "2026-11-20T10:04:00Z",
        "2026-11-20T10:05:00Z",
    ]

    dashboard.add(ENRICHED, item("too-late", "2026-11-20T10:02:50Z", "negative"))
    assert len(dashboard.summary()["open_windows"]) == 2  # Quix leaves it out too


def test_the_insight_of_a_window_replaces_its_open_figures() -> None:
    dashboard = view()
    five_items(dashboard)

    dashboard.add(INSIGHTS, {
        "window_start": "2026-11-20T10:02:00Z", "window_end": "2026-11-20T10:03:00Z",
        "count": 5, "sentiment_counts": {"positive": 2, "neutral": 1, "negative": 2},
        "avg_rating": None, "top_categories": [], "top_key_phrases": [], "source_counts": {},
    })  # fmt: skip

    summary = dashboard.summary()
    assert summary["open_windows"] == []
    assert summary["totals"]["count"] == 5


def test_text_written_around_the_pipeline_is_shown_masked() -> None:
    """Anyone allowed to write the dashboard topics could skip the pipeline's masking."""
    dashboard = view()
    leaked = "mail jo@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111"
    dashboard.add(ENRICHED, {**item("f1", "2026-11-20T10:02:00Z", "negative"),
                             "text": leaked, "key_phrases": ["jo@example.com"]})  # fmt: skip
    dashboard.add(ALERTS, {"alert_id": "a1", "kind": "negative_spike", "category": "other",
                           "window_start": "2026-11-20T10:02:00Z",
                           "window_end": "2026-11-20T10:03:00Z", "reasons": [],
                           "examples": [leaked]})  # fmt: skip
    shown = str(dashboard.summary())
    for personal in ("jo@example.com", "7946 0958", "4111 1111 1111 1111"):
        assert personal not in shown
    assert "[email]" in shown
