"""What the feedback pipeline contributes to ``streamwise demo``.

A generated stream in compressed event time: every wall-clock second of the demo carries
``COMPRESSION`` seconds of feedback, ending at "now", so one-minute insight windows close
every few seconds and a billing incident in the middle of the run grows into a surge the
alert rules catch. Live view: each enriched item, each closed window, each alert.

Once the stream is enriched, a support agent relabels a batch of items with their true
sentiment (``labelling.py``) and the demo waits, for ``CLASSIFIER_WAIT_S`` at most, for
the feedback pipeline's refit on ``feedback-classifier``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.generator import Incident, generate
from pipelines.scenarios.base import Render, Send
from pipelines.scenarios.labelling import (
    BATCH,
    Batch,
    Label,
    classifier_lines,
    latest_classifier,
    relabel,
    true_label,
)

COMPRESSION = 10  # event-time seconds per wall-clock second: a 1-minute window every 6 s
ITEMS_PER_S = 4.0  # wall clock: well within the embedding analyzer's capacity on 2 cores
LEARN_ENV = {"FEEDBACK_LEARN_MIN_LABELS": str(BATCH)}
"""One refit on the agent's batch (the default threshold, 100, is for real use)."""
LABEL_AFTER_S = 15.0
"""Relabel once every item is enriched, or this long after the last was sent at the latest."""
CLASSIFIER_WAIT_S = 40.0
"""How long after the labels the demo waits for a feedback-classifier record."""


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


def show_classifier(refit: dict[str, Any]) -> str:
    def change(field: str) -> str:
        scores = (refit.get(f"previous_{field}"), refit.get(field))
        return " -> ".join("-" if a is None else f"{a:.2f}" for a in scores)

    return (
        f"CLASSIFIER {refit['version']} {'shipped' if refit['shipped'] else 'not shipped'}: "
        f"sentiment {change('accuracy')}, category {change('category_accuracy')} "
        f"on {refit.get('held_back', 0)} held-back labels"
    )


@dataclass
class FeedbackScenario:
    title: str = "Customer feedback: enrichment, trends, emerging issues"
    pipelines: Sequence[str] = ("feedback",)
    watch: dict[str, Render] = field(
        default_factory=lambda: {
            "feedback-enriched": show_enriched,
            "feedback-insights": show_insight,
            "feedback-alerts": show_alert,
            "feedback-classifier": show_classifier,
        }
    )
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pipeline_env: Mapping[str, str] = field(default_factory=lambda: dict(LEARN_ENV))
    truth: dict[str, Label] = field(default_factory=dict)
    """The true (category, sentiment) of each item sent, by feedback id."""
    enriched: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The (category, sentiment) the classifier gave each item, by feedback id."""
    model_before: str | None = None
    batch: Batch | None = None
    refits: list[dict[str, Any]] = field(default_factory=list)
    _last_sent_s: float = field(default=0.0, init=False)
    _labelled_at_s: float | None = field(default=None, init=False)

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
            label = true_label(value["text"])
            if label is not None:
                self.truth[value["feedback_id"]] = label
            self._last_sent_s = i * wall_spacing
            yield Send("feedback", value["feedback_id"], value, at_s=i * wall_spacing)

    def react(self, topic: str, record: dict[str, Any], now_s: float) -> list[Send]:
        """Remember what the classifier said of each item, and its refits."""
        if topic == "feedback-enriched" and self._labelled_at_s is None:
            self.enriched[record["feedback_id"]] = (record["category"], record["sentiment"])
            self.model_before = record.get("model", self.model_before)
        elif topic == "feedback-classifier":
            self.refits.append(record)
        return self.tick(now_s)

    def tick(self, now_s: float) -> list[Send]:
        """The agent's batch, once every item is enriched (or the stream is long over)."""
        if self._labelled_at_s is not None or not self.truth:
            return []
        pending = len(self.truth.keys() - self.enriched.keys())
        if pending and now_s < self._last_sent_s + LABEL_AFTER_S:
            return []
        self._labelled_at_s = now_s
        self.batch = relabel(self.enriched, self.truth, self.clock())
        return [
            Send("feedback-labels", label.feedback_id, label.to_json_dict(), now_s + i * 0.02)
            for i, label in enumerate(self.batch.labels)
        ]

    def waiting(self, now_s: float) -> str | None:
        """Until the stream is enriched and relabelled, then until a refit (bounded)."""
        if not self.truth:
            return None
        if self._labelled_at_s is None:
            done = len(self.truth.keys() & self.enriched.keys())
            return f"feedback enriched {done} of {len(self.truth)} before relabelling"
        waited = now_s - self._labelled_at_s
        if self.refits or not self.batch or len(self.batch.labels) < BATCH:
            return None  # a refit came, or none will (too few labels)
        if waited > CLASSIFIER_WAIT_S:
            return None
        return (
            f"waiting for the feedback classifier to refit on {len(self.batch.labels)} labels "
            f"({waited:.0f} s of at most {CLASSIFIER_WAIT_S:.0f} s)"
        )

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
            *classifier_lines(
                latest_classifier(outputs.get("feedback-classifier", [])),
                self.batch,
                self.model_before,
                CLASSIFIER_WAIT_S,
            ),
        ]


def scenario(settings: StreamwiseSettings) -> FeedbackScenario:
    """The feedback part of the demo (``settings`` unused: the stream needs none)."""
    return FeedbackScenario()
