"""The dashboard in headless Chromium: it loads, shows the figures of the insights it was fed
(read from the real topics) and of the window still open, and a screenshot is saved; search
answers from Chroma."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.common import backends
from pipelines.common.admin import ensure_topics
from pipelines.common.auth import new_token, parse_tokens
from pipelines.common.clients import client_config
from pipelines.common.events import EnrichedFeedback
from pipelines.common.http import serving
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import all_topics
from pipelines.console.server import make_app
from pipelines.feedback.enrich import Enriched
from pipelines.feedback.settings import FeedbackSettings
from pipelines.feedback.sinks import to_record
from tests.kafkaio import produce

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: apt-get install chromium
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--virtual-time-budget=6000", "--window-size=1280,1700"]  # fmt: skip


def insight(minute: int, count: int, sentiments: tuple[int, int, int], rating: float
            ) -> dict[str, Any]:  # fmt: skip
    pos, neu, neg = sentiments
    return {
        "window_start": f"2026-11-20T10:0{minute}:00Z",
        "window_end": f"2026-11-20T10:0{minute + 1}:00Z",
        "count": count,
        "sentiment_counts": {"positive": pos, "neutral": neu, "negative": neg},
        "avg_rating": rating,
        "top_categories": [{"category": "billing", "count": neg}, {"category": "delivery",
                                                                   "count": pos + neu}],
        "top_key_phrases": [{"phrase": "charged twice", "count": neg}],
        "source_counts": {"email": count - 2, "chat": 2},
    }  # fmt: skip


INSIGHTS = [
    insight(0, 12, (8, 3, 1), 4.25),
    insight(1, 7, (4, 2, 1), 3.5),
    insight(2, 19, (2, 2, 15), 1.4),
]
ALERT = {"alert_id": "a-123", "kind": "category_surge", "window_start": "2026-11-20T10:02:00Z",
         "window_end": "2026-11-20T10:03:00Z", "category": "billing",
         "reasons": ["15 'billing' items in this window against a trailing mean of 0.5"],
         "examples": ["b1", "b2"]}  # fmt: skip
Item = tuple[str, str, str, str, list[str]]
ITEMS: list[Item] = [
    ("d1", "My parcel arrived late and the box was damaged.", "negative", "delivery",
     ["arrived late", "box damaged"]),
    ("b1", "I was charged twice for the same order.", "negative", "billing", ["charged twice"]),
    ("p1", "Great headphones, fantastic sound.", "positive", "product quality", []),
]  # fmt: skip
SMALL_FILE: list[Item] = [  # five items, nothing later: their window never closes
    (f"s{i}", f"Small file item {i}.", sentiment, "other", [])
    for i, sentiment in enumerate(["positive", "negative", "neutral", "negative", "positive"])
]


def enriched(fid: str, text: str, sentiment: str, category: str, key_phrases: list[str]
             ) -> EnrichedFeedback:  # fmt: skip
    return EnrichedFeedback(feedback_id=fid, ts="2026-11-20T10:02:30Z", source="email", text=text,
                            sentiment=sentiment, sentiment_score=-0.5 if sentiment == "negative"
                            else 0.8, key_phrases=key_phrases, category=category, model="test"
                            )  # fmt: skip


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def store(settings: StreamwiseSettings, items: list[Item]) -> None:
    """Upsert enriched items into the feedback collection, as the pipeline's sink does."""
    events = [enriched(*item) for item in items]
    vectors = backends.embedder(settings).embed([e.text for e in events])
    collection = backends.vector_collection(settings, FeedbackSettings().collection)
    pairs = zip(events, vectors, strict=True)
    collection.upsert([to_record(Enriched(e, None, False), v) for e, v in pairs])


def running_dashboard(
    settings: StreamwiseSettings, caught_up: Callable[[dict[str, Any]], bool]
) -> Iterator[str]:
    """``serve`` in a process of its own (as the CLI runs it), until ``caught_up(summary)``."""
    env = {**os.environ, "STREAMWISE_BROKER": str(settings.broker),
           "STREAMWISE_DATA_DIR": str(settings.data_dir),
           "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix}  # fmt: skip
    code = ("from pipelines.console.server import serve; "
            "from pipelines.common.settings import StreamwiseSettings; "
            "serve(StreamwiseSettings(), '127.0.0.1', 0)")  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the reader has caught up with the topics
            if caught_up(get_json(url + "api/summary")):
                break
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def dashboard(settings: StreamwiseSettings) -> Iterator[str]:
    """The dashboard on fed topics and Chroma."""
    ensure_topics(client_config(settings), all_topics(settings.topic_prefix), partitions=2)
    produce(settings, "feedback-insights", [(i["window_start"], i) for i in INSIGHTS])
    produce(settings, "feedback-alerts", [("billing", ALERT)])
    produce(settings, "feedback-enriched", [(i[0], enriched(*i)) for i in ITEMS])
    store(settings, ITEMS)
    yield from running_dashboard(
        settings, lambda s: len(s["windows"]) == 3 and bool(s["alerts"]) and len(s["latest"]) == 3
    )


@pytest.fixture
def small_file_dashboard(settings: StreamwiseSettings) -> Iterator[str]:
    """The dashboard after a small file: five enriched items, no insight (none closed)."""
    ensure_topics(client_config(settings), all_topics(settings.topic_prefix), partitions=2)
    produce(settings, "feedback-enriched", [(i[0], enriched(*i)) for i in SMALL_FILE])
    yield from running_dashboard(settings, lambda s: len(s["latest"]) == 5)


def dump_dom(url: str) -> str:
    """The page as headless Chromium leaves it once its scripts ran."""
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip


def test_summary_totals_equal_the_insights_fed(dashboard: str) -> None:
    summary = get_json(dashboard + "api/summary")
    assert [w["count"] for w in summary["windows"]] == [12, 7, 19]
    assert summary["totals"]["count"] == 38
    assert summary["totals"]["sentiment_counts"] == {"positive": 14, "neutral": 7, "negative": 17}
    assert summary["totals"]["avg_rating"] == round((4.25 * 12 + 3.5 * 7 + 1.4 * 19) / 38, 2)
    assert summary["top_categories"][0] == {"name": "delivery", "count": 21}
    assert summary["sources"] == [{"name": "email", "count": 32}, {"name": "chat", "count": 6}]


def test_search_finds_similar_past_feedback_in_chroma_even_stored_after_start(
    dashboard: str, settings: StreamwiseSettings
) -> None:
    result = get_json(dashboard + "api/search?q=package+came+broken+and+late")
    assert result["hits"][0]["feedback_id"] == "d1"
    assert result["hits"][0]["category"] == "delivery"
    assert result["hits"][0]["key_phrases"] == ["arrived late", "box damaged"]
    store(settings, [("z1", "A zebra-striped umbrella came instead of my teapot.", "neutral",
                      "delivery", [])])  # fmt: skip
    later = get_json(dashboard + "api/search?q=zebra+umbrella+instead+of+a+teapot")
    assert later["hits"][0]["feedback_id"] == "z1"
    masked = get_json(dashboard + "api/search?q=mail+me+at+jo%40example.com")
    assert masked["query"] == "mail me at [email]"


def test_the_page_shows_the_fed_figures_in_headless_chromium(
    dashboard: str, tmp_path: Path
) -> None:
    dom = dump_dom(dashboard)
    assert 'data-loaded="true"' in dom
    assert '<span id="total-count">38</span>' in dom
    assert '<span id="total-negative">17</span>' in dom
    assert '<span id="window-count">3</span>' in dom
    assert '<span id="open-count">0</span>' in dom  # the items' window has its insight
    assert 'data-alert-id="a-123"' in dom
    assert "15 'billing' items in this window" in dom
    assert dom.count("<rect") == 9  # 3 windows x 3 sentiments
    assert "charged twice" in dom
    assert "My parcel arrived late and the box was damaged." in dom

    screenshot = tmp_path / "dashboard.png"
    subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--screenshot={screenshot}", dashboard + "#feedback"],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert screenshot.stat().st_size > 20_000


def test_a_small_file_shows_its_items_in_the_open_window_not_count_0(
    small_file_dashboard: str,
) -> None:
    [open_window] = get_json(small_file_dashboard + "api/summary")["open_windows"]
    assert open_window["count"] == 5
    assert open_window["sentiment_counts"] == {"positive": 2, "neutral": 1, "negative": 2}

    dom = dump_dom(small_file_dashboard)
    assert 'data-loaded="true"' in dom
    assert '<span id="total-count">0</span>' in dom  # closed windows only
    assert '<span id="open-count">5</span>' in dom
    assert (
        "Open window 10:02\u201310:03, provisional: 5 items so far (2 positive, 1 neutral, "
        "2 negative); it closes when an item stamped 10:05 or later arrives."
    ) in dom


def test_with_a_tokens_file_the_api_answers_only_staff_and_the_page_sends_the_token(
    settings: StreamwiseSettings,
) -> None:
    ensure_topics(client_config(settings), all_topics(settings.topic_prefix), partitions=2)
    staff, staff_line = new_token("analyst", "staff")
    customer, customer_line = new_token("app-c1", "customer:c-1")
    app, reader = make_app(settings, parse_tokens(staff_line + customer_line, "tokens"))
    reader.start()
    try:
        with serving(app, "127.0.0.1", 0, what="the dashboard") as port:
            base = f"http://127.0.0.1:{port}"

            def status(path: str, token: str | None = None) -> int:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                return httpx.get(base + path, headers=headers, timeout=30).status_code

            assert status("/") == 200, "the page holds no data"
            assert status("/api/summary") == 401
            assert status("/api/summary", "not-a-token") == 401
            assert status("/api/summary", customer) == 403
            assert status("/api/search?q=", customer) == 403
            assert status("/api/summary", staff) == 200
            assert status("/api/search?q=", staff) == 200

            assert 'data-loaded="true"' in dump_dom(f"{base}/#token={staff}")
            assert "needs a staff token" in dump_dom(f"{base}/")
    finally:
        reader.stop()
        reader.join(timeout=5)
