"""The fraud page in headless Chromium, on the real broker with the real fraud-quality pipeline.

Triaged alerts fed to ``fraud-alerts-triaged`` appear in the queue with their note,
similar cases and the verdict already given; clicking "fraud" publishes a
``FraudVerdict`` for that alert on ``fraud-verdicts`` (read back here); and the rule's
precision shown moves for real: the test runs ``pipelines.fraud.quality_pipeline.build``
(as ``streamwise run fraud-quality`` does) on ``fraud-alerts`` and ``fraud-verdicts``
before the click and again after it, and the page shows each run's cumulative figure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.quality_pipeline import build
from pipelines.fraud.settings import QualitySettings
from tests.console.browser import running_console, screenshot, wait_until
from tests.fraud.verdicts import alert, verdict
from tests.kafkaio import produce, read

NOW = datetime.now(UTC).replace(microsecond=0)
ALERTS = [alert(f"a{i}", "velocity", "high" if i % 2 else "medium", NOW - timedelta(minutes=10 - i))
          for i in range(1, 5)]  # fmt: skip
EARLIER = [verdict("a1", "fraud", NOW, analyst="ana"), verdict("a2", "legitimate", NOW)]


def triaged(raw: dict[str, Any]) -> dict[str, Any]:
    """The ``fraud-alerts-triaged`` record triage would publish for ``raw``."""
    note = f"Card {raw['card_id']} spent fast: {raw['alert_id']}."
    similar = [{"alert_id": "a1", "verdict": "fraud"}]
    return {**raw, "note": note, "similar_alert_ids": ["a1"], "similar_verdicts": similar}


def run_quality(settings: StreamwiseSettings) -> None:
    """The real fraud-quality pipeline until it has been idle for 3 s."""
    papp = make_app("fraud-quality", settings)
    build(papp, QualitySettings(quality_window=timedelta(minutes=2)))  # a few points to draw
    papp.app.run(timeout=3)


def precision_shown(driver: WebDriver) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, '#fraud-quality li[data-rule="velocity"] .value')
    return found[0].text if found else ""


def test_the_queue_takes_a_verdict_and_the_precision_moves(
    settings: StreamwiseSettings, browser: WebDriver
) -> None:
    produce(settings, "fraud-alerts", [(a["card_id"], a) for a in ALERTS])
    produce(settings, "fraud-alerts-triaged", [(a["card_id"], triaged(a)) for a in ALERTS])
    produce(settings, "fraud-verdicts", [(v["alert_id"], v) for v in EARLIER])
    run_quality(settings)  # a1 fraud, a2 legitimate: 1 of 2
    with running_console(settings) as url:
        browser.get(url + "#fraud")
        wait_until(browser, lambda d: precision_shown(d) == "50.0%")
        queue = browser.find_elements(By.CSS_SELECTOR, "#fraud-queue li[data-alert-id]")
        ids = [li.get_attribute("data-alert-id") for li in queue]
        assert ids == ["a4", "a3", "a2", "a1"]  # undecided first, newest first within
        assert browser.find_element(By.ID, "fraud-undecided").text == "2"
        a1 = browser.find_element(By.CSS_SELECTOR, '#fraud-queue li[data-alert-id="a1"]')
        assert "verdict: fraud by ana" in a1.text
        a3 = browser.find_element(By.CSS_SELECTOR, '#fraud-queue li[data-alert-id="a3"]')
        assert "Card card-a3 spent fast: a3." in a3.text
        assert "similar cases: a1 (fraud)" in a3.text

        a3.find_element(By.CSS_SELECTOR, "input.verdict-note").send_keys("customer confirmed")
        a3.find_element(By.CSS_SELECTOR, 'button[data-verdict="fraud"]').click()
        records = read(settings, "fraud-verdicts",
                       until=lambda rs: any(r.key == b"a3" for r in rs))  # fmt: skip
        [given] = [r.json() for r in records if r.key == b"a3"]
        assert (given["verdict"], given["note"]) == ("fraud", "customer confirmed")
        assert "analyst" not in given  # no tokens file: no one to name
        wait_until(browser, lambda d: "verdict: fraud at" in d.find_element(
            By.CSS_SELECTOR, '#fraud-queue li[data-alert-id="a3"]').text)  # fmt: skip

        run_quality(settings)  # a3 fraud too: 2 of 3
        wait_until(browser, lambda d: precision_shown(d) == "66.7%")
        rule = browser.find_element(By.CSS_SELECTOR, '#fraud-quality li[data-rule="velocity"]')
        assert "2 confirmed of 3 judged · 4 alerts" in rule.text
        assert browser.find_element(By.ID, "fraud-undecided").text == "1"
        screenshot(browser, "console-fraud")
