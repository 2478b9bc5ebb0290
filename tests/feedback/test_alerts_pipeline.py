"""A billing surge on the real broker with the real embedding model: exactly one alert per
issue, although the surge lasts two windows, with reasons, examples and a deterministic id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.alerts import CATEGORY_SURGE, NEGATIVE_SPIKE, alert_id
from pipelines.feedback.analyzers.embedding import EmbeddingAnalyzer
from pipelines.feedback.feedback_pipeline import build, make_feedback_app
from pipelines.feedback.settings import FeedbackSettings
from tests.kafkaio import produce, read

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
QUIET = [
    "The sound quality of these speakers is excellent.",
    "Checkout on the website is quick and easy.",
]
BILLING = [
    "I was charged twice for the same order and still have no refund.",
    "You billed my card twice this month, fix it now.",
    "Overcharged on my last bill again, this is a scam.",
    "My invoice shows the wrong amount and nobody will correct it.",
    "Still waiting for my refund, this is unacceptable.",
    "The payment failed but the money left my account anyway. Awful.",
]


def at(minute: int, second: int) -> str:
    return (T0 + timedelta(minutes=minute, seconds=second)).isoformat()


def stream() -> list[dict[str, Any]]:
    """Minutes 0-3 quiet, 4-5 a billing surge, 6 and 8 quiet again."""
    items: list[dict[str, Any]] = []
    for minute in (0, 1, 2, 3, 6, 8):
        items += [{"feedback_id": f"q{minute}-{i}", "ts": at(minute, 10 + i), "source": "survey",
                   "text": text, "rating": 5} for i, text in enumerate(QUIET)]  # fmt: skip
    for minute in (4, 5):
        items += [{"feedback_id": f"b{minute}-{i}", "ts": at(minute, 5 + i), "source": "email",
                   "text": text, "rating": 1} for i, text in enumerate(BILLING)]  # fmt: skip
    return sorted(items, key=lambda item: item["ts"])


def run_backlog(
    settings: StreamwiseSettings, feedback: FeedbackSettings, analyzer: EmbeddingAnalyzer,
    items: list[dict[str, Any]],
) -> None:  # fmt: skip
    """Send ``items`` and run the pipeline until it has been idle for a few seconds."""
    papp = make_feedback_app(settings, feedback)
    produce(settings, "feedback", [(item["feedback_id"], item) for item in items])
    build(papp, feedback, analyzer)
    papp.app.run(timeout=8)


def test_a_two_window_billing_surge_alerts_once(
    settings: StreamwiseSettings, embedding_analyzer: EmbeddingAnalyzer
) -> None:
    # A backlog spread over 2 partitions reaches the one insights partition out of event-time
    # order (Kafka orders partitions, not topics); a grace longer than the backlog keeps every
    # item, and one item sent afterwards, past the grace, closes all the windows.
    feedback = FeedbackSettings(negative_min_count=5, surge_min_count=5, min_baseline_windows=3,
                                window_grace=timedelta(minutes=30))  # fmt: skip
    run_backlog(settings, feedback, embedding_analyzer, stream())
    closer = {"feedback_id": "closer", "ts": at(45, 0), "source": "chat", "text": QUIET[0]}
    run_backlog(settings, feedback, embedding_analyzer, [closer])

    insights = read(settings, "feedback-insights", until=lambda r: len(r) >= 8)
    by_start = sorted((i.json() for i in insights), key=lambda i: i["window_start"])
    assert [i["count"] for i in by_start] == [2, 2, 2, 2, 6, 6, 2, 2]
    alerts = [r.json() for r in read(settings, "feedback-alerts", until=lambda r: len(r) >= 2,
                                     idle_s=2)]  # fmt: skip
    surge_start = int((T0 + timedelta(minutes=4)).timestamp() * 1000)
    by_kind = {alert["kind"]: alert for alert in alerts}
    assert sorted(a["kind"] for a in alerts) == [CATEGORY_SURGE, NEGATIVE_SPIKE]

    surge = by_kind[CATEGORY_SURGE]
    assert surge["alert_id"] == alert_id(CATEGORY_SURGE, "billing", surge_start)
    assert surge["category"] == "billing"
    assert surge["window_start"] == at(4, 0).replace("+00:00", "Z")
    assert surge["examples"] == [f"b4-{i}" for i in range(5)]
    assert "6 'billing' items" in surge["reasons"][0]

    spike = by_kind[NEGATIVE_SPIKE]
    assert spike["alert_id"] == alert_id(NEGATIVE_SPIKE, "all", surge_start)
    assert spike["examples"] == [f"b4-{i}" for i in range(5)]
