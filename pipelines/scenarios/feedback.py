"""What the feedback pipeline contributes to ``streamwise demo``.

A generated stream in compressed event time: every wall-clock second of the demo carries
``COMPRESSION`` seconds of feedback, ending at "now", so one-minute insight windows close
every few seconds and a billing incident in the middle of the run grows into a surge the
alert rules catch. Live view: each enriched item, each closed window, each alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.generator import Incident, generate
from pipelines.scenarios.base import Render, Send

COMPRESSION = 10  # event-time seconds per wall-clock second: a 1-minute window every 6 s
ITEMS_PER_S = 4.0  # wall clock: well within the embedding analyzer's capacity on 2 cores


def show_enriched(item: dict[str, Any]) -> str:
    return (
        f"feedback  {item['sentiment']:>8} {item['sentiment_score']:+.2f}  "
        f"{item['category']:<16} {item['text'][:70]}"
    )


def show_insight(window: dict[str, Any]) -> str:
    counts = window["sentiment_counts"]
    top = ", ".join(f"{c['category']} {c['count']}" for c in window["top_categories"][:3])
    rating = window["avg_rating"] if window["avg_rating"] is not None else "-"
    return (
        f"trend     {window['window_start'][11:16]} {window['count']:>3} items  "
        f"+{counts['positive']} ~{counts['neutral']} -{counts['negative']}  "
        f"rating {rating}  top: {top}"
    )


def show_alert(alert: dict[str, Any]) -> str:
    return f"ALERT     {alert['kind']} [{alert['category']}] {'; '.join(alert['reasons'])}"


@dataclass
class FeedbackScenario:
    title: str = "Customer feedback: enrichment, trends, emerging issues"
    pipelines: Sequence[str] = ("feedback",)
    watch: dict[str, Render] = field(
        default_factory=lambda: {
            "feedback-enriched": show_enriched,
            "feedback-insights": show_insight,
            "feedback-alerts": show_alert,
        }
    )
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def events(self, seconds: float) -> Iterator[Send]:
        count = max(1, int(seconds * ITEMS_PER_S))
        wall_spacing = 1 / ITEMS_PER_S
        event_spacing = timedelta(seconds=wall_spacing * COMPRESSION)
        span_s = (event_spacing * count).total_seconds()
        incident = Incident("billing", start_s=span_s * 0.45, duration_s=span_s * 0.15)
        start = self.now - event_spacing * count
        seed = int(self.now.timestamp())
        stream = generate(count, start=start, spacing=event_spacing, seed=seed, incident=incident)
        for i, value in enumerate(stream):
            yield Send("feedback", value["feedback_id"], value, at_s=i * wall_spacing)

    def summary(self, outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
        enriched = outputs.get("feedback-enriched", [])
        sentiments = Counter(item["sentiment"] for item in enriched)
        categories = Counter(item["category"] for item in enriched)
        alerts = outputs.get("feedback-alerts", [])
        return [
            f"feedback: {len(enriched)} items enriched "
            f"({', '.join(f'{n} {s}' for s, n in sentiments.most_common())}); "
            f"top categories: {', '.join(f'{c} {n}' for c, n in categories.most_common(3))}",
            f"feedback: {len(outputs.get('feedback-insights', []))} insight windows closed, "
            f"{len(alerts)} emerging-issue alert(s)"
            + "".join(f"\n  - {a['kind']} [{a['category']}]: {a['reasons'][0]}" for a in alerts),
        ]


def scenario(settings: StreamwiseSettings) -> FeedbackScenario:
    """The feedback part of the demo (``settings`` unused: the stream needs none)."""
    return FeedbackScenario()
