"""The knowledge page in headless Chromium, on the real broker: the KPIs and low-rated documents
shown are those of the ``AnswerKpis`` record fed (the latest window), and the versions shown
are the latest published on ``kb-changes`` beside the ``index_version`` of the latest answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from pipelines.common.events import Answer, AnswerKpis, KbChange, LowRatedDoc
from pipelines.common.settings import StreamwiseSettings
from tests.console.browser import running_console, screenshot, wait_until
from tests.kafkaio import produce

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def kpis(hour: int, answers: int, satisfaction: float, low: list[tuple[str, int]]) -> AnswerKpis:
    return AnswerKpis(
        window_start=START + timedelta(hours=hour), window_end=START + timedelta(hours=hour + 1),
        answers=answers, status_counts={"ok": answers - 3, "no_context": 2, "rejected": 1},
        rated=10, satisfaction=satisfaction, latency_p50_ms=840.0, latency_p95_ms=2310.0,
        low_rated_docs=[LowRatedDoc(doc_id=d, down_answers=n) for d, n in low],
    )  # fmt: skip


EARLIER = kpis(0, 20, 0.9, [])
LATEST = kpis(1, 42, 0.6, [("refunds", 3), ("shipping-times", 1)])
CHANGES = [
    KbChange(doc_id="refunds", version=1, op="upsert", ts=START, title="Refunds", text="v1"),
    KbChange(doc_id="refunds", version=2, op="upsert", ts=START + timedelta(minutes=5),
             title="Refunds", text="v2"),
    KbChange(doc_id="shipping-times", version=4, op="upsert", ts=START, title="Shipping times",
             text="..."),
]  # fmt: skip
ANSWER = Answer(question_id="q1", answer="Refunds take 5 days.", citations=[], index_version=6,
                model="test", latency_ms=800.0, status="ok")  # fmt: skip


def test_the_kpis_and_low_rated_documents_shown_are_the_records_fed(
    settings: StreamwiseSettings, browser: WebDriver
) -> None:
    produce(settings, "answer-kpis", [(k.window_start.isoformat(), k) for k in (EARLIER, LATEST)])
    produce(settings, "kb-changes", [(c.doc_id, c) for c in CHANGES])
    produce(settings, "answers", [(ANSWER.question_id, ANSWER)])
    with running_console(settings) as url:
        browser.get(url + "#knowledge")
        wait_until(browser, lambda d: d.find_element(By.ID, "kpi-answers").text == "42")
        shown = {k: browser.find_element(By.ID, f"kpi-{k}").text
                 for k in ("satisfaction", "rated", "p50", "p95")}  # fmt: skip
        assert shown == {"satisfaction": "60.0%", "rated": "10", "p50": "840 ms", "p95": "2310 ms"}
        statuses = browser.find_elements(By.CSS_SELECTOR, "#kpi-status li")
        assert [s.text for s in statuses] == ["ok: 39", "no_context: 2", "rejected: 1"]
        low = browser.find_elements(By.CSS_SELECTOR, "#low-rated li[data-doc-id]")
        assert [li.text for li in low] == [
            "refunds: cited by 3 down-rated answers",
            "shipping-times: cited by 1 down-rated answer",
        ]

        wait_until(browser, lambda d: d.find_element(By.ID, "index-version").text == "6")
        assert browser.find_element(By.ID, "published-sum").text == "6"  # refunds 2 + shipping 4
        assert "applied every change published" in browser.find_element(By.ID, "index-state").text
        rows = browser.find_elements(By.CSS_SELECTOR, "#documents tr[data-doc-id]")
        versions = {r.get_attribute("data-doc-id"): r.find_elements(By.TAG_NAME, "td")[2].text
                    for r in rows}  # fmt: skip
        assert versions == {"refunds": "2", "shipping-times": "4"}
        screenshot(browser, "console-knowledge")
