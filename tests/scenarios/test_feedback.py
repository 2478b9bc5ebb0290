"""The demo's feedback stream: timed, never from the future, with an incident in the middle."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from pipelines.common.events import Feedback
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.generator import PHRASES
from pipelines.scenarios.feedback import COMPRESSION, ITEMS_PER_S, scenario


def billing_share(texts: list[str]) -> float:
    billing = {t.split(" (")[0] for (c, _), ts in PHRASES.items() if c == "billing" for t in ts}
    hits = sum(any(t.startswith(b.split("{")[0]) for b in billing) for t in texts)
    return hits / len(texts)


def test_the_stream_is_valid_timed_and_ends_now_with_a_billing_incident() -> None:
    demo = scenario(StreamwiseSettings())
    demo.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    sends = list(demo.events(60))
    assert len(sends) == 60 * ITEMS_PER_S
    assert [s.at_s for s in sends] == sorted(s.at_s for s in sends)
    events = [Feedback.model_validate(s.value) for s in sends]
    assert {s.topic for s in sends} == {"feedback"}
    assert [s.key for s in sends] == [e.feedback_id for e in events]
    assert max(e.ts for e in events) < demo.now
    span = (events[-1].ts - events[0].ts).total_seconds()
    assert abs(span - 60 * COMPRESSION) < 2 * COMPRESSION / ITEMS_PER_S
    texts = [e.text for e in events]
    middle = texts[int(len(texts) * 0.46) : int(len(texts) * 0.58)]
    assert billing_share(middle) > 2 * billing_share(texts[: len(texts) // 3])
    assert Counter(e.source for e in events).keys() >= {"email", "chat"}


def test_the_live_view_and_summary_render_outputs() -> None:
    demo = scenario(StreamwiseSettings())
    alert = {"alert_id": "a", "kind": "category_surge", "category": "billing",
             "reasons": ["9 'billing' items"], "examples": []}  # fmt: skip
    assert demo.watch["feedback-alerts"](alert).startswith("ALERT     category_surge [billing]")
    lines = demo.summary({"feedback-enriched": [{"sentiment": "negative", "category": "billing"}],
                          "feedback-alerts": [alert]})  # fmt: skip
    assert lines[0].startswith("feedback: 1 items enriched (1 negative)")
    assert "category_surge [billing]: 9 'billing' items" in lines[1]
