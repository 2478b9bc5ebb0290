"""The feedback page in headless Chromium, on the real broker: correct a label, see the model.

Enriched items fed to ``feedback-enriched`` are listed with a "correct label" control;
choosing a sentiment and saving publishes a ``FeedbackLabel`` on ``feedback-labels``
(read back here) and the item then shows the label read from the topic. The
classifier's current version and accuracy shown are those of the latest *shipped*
``FeedbackClassifier`` record produced here, and a newer refit that was not shipped is
named as such.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from pipelines.common.events import EnrichedFeedback, FeedbackClassifier
from pipelines.common.settings import StreamwiseSettings
from tests.console.browser import running_console, screenshot, wait_until
from tests.kafkaio import produce, read

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [
    EnrichedFeedback(feedback_id=fid, ts=NOW - timedelta(seconds=30 - i), source="email",
                     text=text, sentiment=sentiment, sentiment_score=score, key_phrases=[],
                     category=category, model="head-v2")
    for i, (fid, text, sentiment, score, category) in enumerate([
        ("d1", "My parcel arrived late and the box was damaged.", "negative", -0.7, "delivery"),
        ("b1", "The invoice is fine, I just wanted to ask about VAT.", "negative", -0.2,
         "billing"),
        ("p1", "Great headphones, fantastic sound.", "positive", 0.9, "product quality"),
    ])
]  # fmt: skip


def refit(version: str, minutes_ago: int, shipped: bool, accuracy: float, previous: float
          ) -> FeedbackClassifier:  # fmt: skip
    ts = NOW - timedelta(minutes=minutes_ago)
    return FeedbackClassifier(version=version, model=f"head-{version}", ts=ts, effective_from=ts,
                              shipped=shipped, labels=120, held_back=24, accuracy=accuracy,
                              previous_accuracy=previous, category_accuracy=0.75)  # fmt: skip


REFITS = [
    refit("v1", 30, True, 0.79, 0.7),
    refit("v2", 20, True, 0.875, 0.79),  # the current version
    refit("v3", 10, False, 0.83, 0.875),  # newer, worse on the held-back labels: not shipped
]


def test_a_corrected_label_is_published_and_the_shipped_classifier_is_shown(
    settings: StreamwiseSettings, browser: WebDriver
) -> None:
    produce(settings, "feedback-enriched", [(i.feedback_id, i) for i in ITEMS])
    produce(settings, "feedback-classifier", [(r.version, r) for r in REFITS])
    with running_console(settings) as url:
        browser.get(url + "#feedback")
        wait_until(browser, lambda d: d.find_element(By.ID, "classifier-version").text == "v2")
        assert browser.find_element(By.ID, "classifier-accuracy").text == "87.5%"
        detail = browser.find_element(By.ID, "classifier-detail").text
        assert "model head-v2" in detail
        assert "24 held-back of 120 labels" in detail
        assert "previous 79.0%" in detail
        unshipped = browser.find_element(By.ID, "classifier-unshipped").text
        assert unshipped.startswith("Latest refit v3 ")
        assert "was not shipped: accuracy 83.0% against 87.5% before" in unshipped

        item = wait_until(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, '#latest li[data-feedback-id="b1"]'))  # fmt: skip
        item.find_element(By.CSS_SELECTOR, "button.correct-label").click()
        Select(item.find_element(By.CSS_SELECTOR, "select[name=sentiment]")).select_by_value(
            "neutral"
        )
        item.find_element(By.CSS_SELECTOR, "button.save-label").click()
        records = read(settings, "feedback-labels", until=lambda rs: len(rs) >= 1)
        [label] = [r.json() for r in records]
        assert records[0].key == b"b1"
        assert (label["feedback_id"], label["sentiment"]) == ("b1", "neutral")
        assert "category" not in label  # none chosen
        assert "labeller" not in label  # no tokens file: no one to name
        wait_until(browser, lambda d: "labelled neutral" in d.find_element(
            By.CSS_SELECTOR, '#latest li[data-feedback-id="b1"]').text)  # fmt: skip
        screenshot(browser, "console-feedback")
