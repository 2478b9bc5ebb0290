"""Pure logic of the feedback pipeline: no broker, dict-backed state where state is needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bench.training.labeled import label_of, training_items
from models import ModelOutputInvalid, validate_answer
from pipelines.common.events import EnrichedFeedback, Feedback
from pipelines.feedback import insights
from pipelines.feedback.alerts import CATEGORY_SURGE, NEGATIVE_SPIKE, AlertRules, alert_id, detect
from pipelines.feedback.analyzers.base import Analysis, Analyzer, analysis_schema
from pipelines.feedback.analyzers.phrases import candidates
from pipelines.feedback.analyzers.versions import AnalyzerVersions
from pipelines.feedback.batching import AnalysisFailed, Pending
from pipelines.feedback.enrich import (
    Enriched,
    Enricher,
    FromTheFuture,
    check_clock,
    masked,
    text_key,
)
from pipelines.feedback.settings import FeedbackSettings
from state.feedback import AlertHistory
from tests.dict_state import DictState

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MINUTE_MS = 60_000
RULES = AlertRules(negative_share=0.5, negative_min_count=4, surge_factor=3.0,
                   surge_min_count=4, baseline_windows=5, min_baseline_windows=2)  # fmt: skip
SCHEMA = analysis_schema(FeedbackSettings().categories, 3)


def enriched(fid: str, sentiment: str, category: str, **extra: Any) -> EnrichedFeedback:
    return EnrichedFeedback(feedback_id=fid, ts=T0, source=extra.pop("source", "email"),
                            text="t", sentiment=sentiment, sentiment_score=0.0,
                            key_phrases=extra.pop("key_phrases", []), category=category,
                            model="m", **extra)  # fmt: skip


def window(*items: EnrichedFeedback) -> insights.Aggregate:
    agg = insights.start(items[0])
    for item in items[1:]:
        agg = insights.add(agg, item)
    return agg


GOOD = Analysis("negative", -0.7, ("late parcel",), "delivery", "fixed")


# --- phrases ------------------------------------------------------------------------


def test_candidates_skip_function_words_at_the_edges_and_pii_placeholders() -> None:
    found = candidates("The parcel was late. Mail me at [email] or [card ****1234], thanks!")
    assert "parcel was late" in found
    assert all("email" not in p and "card" not in p and "1234" not in p for p in found)
    assert all(p.split()[0] not in {"the", "was", "me"} for p in found)


def test_every_clause_contributes_before_one_clause_contributes_twice() -> None:
    found = candidates("Delivery drivers are rude. Refund processing takes forever.", limit=2)
    assert found == ["drivers are rude", "refund processing takes"]


# --- insights -----------------------------------------------------------------------


def test_insight_counts_equal_a_hand_computation() -> None:
    agg = window(
        enriched("a", "negative", "billing", rating=1, key_phrases=["charged twice"]),
        enriched("b", "negative", "billing", rating=2, key_phrases=["charged twice", "refund"]),
        enriched("c", "positive", "delivery", source="chat", key_phrases=["fast delivery"]),
    )
    insight = insights.summarize(agg, 0, MINUTE_MS)
    assert insight.count == 3
    assert insight.sentiment_counts == {"positive": 1, "neutral": 0, "negative": 2}
    assert insight.avg_rating == 1.5
    assert insight.top_categories == [{"category": "billing", "count": 2},
                                      {"category": "delivery", "count": 1}]  # fmt: skip
    assert insight.top_key_phrases[0] == {"phrase": "charged twice", "count": 2}
    assert insight.source_counts == {"chat": 1, "email": 2}
    assert insight.window_end - insight.window_start == timedelta(minutes=1)


def test_a_window_without_ratings_has_no_average() -> None:
    assert insights.summarize(window(enriched("a", "neutral", "other")), 0, 1).avg_rating is None


# --- alerts -------------------------------------------------------------------------


def quiet(n: int = 1) -> insights.Aggregate:
    return window(*(enriched(f"q{i}", "positive", "delivery") for i in range(n)))


def billing_surge(prefix: str, n: int = 5) -> insights.Aggregate:
    return window(*(enriched(f"{prefix}{i}", "negative", "billing") for i in range(n)))


def test_a_surge_lasting_two_windows_alerts_once_and_again_after_it_ended(
    dict_state: DictState,
) -> None:
    history = AlertHistory(dict_state)
    # After the first surge, 5 quiet windows bring the trailing baseline back to 0.
    sequence = [quiet(), quiet(), billing_surge("x"), billing_surge("y"),
                *(quiet() for _ in range(5)), billing_surge("z")]  # fmt: skip
    fired = [detect(agg, i * MINUTE_MS, (i + 1) * MINUTE_MS, history, RULES)
             for i, agg in enumerate(sequence)]  # fmt: skip
    kinds = [sorted(a.kind for a in alerts) for alerts in fired]
    both = [CATEGORY_SURGE, NEGATIVE_SPIKE]
    assert kinds == [[], [], both, [], [], [], [], [], [], both]
    surge = next(a for a in fired[2] if a.kind == CATEGORY_SURGE)
    assert surge.alert_id == alert_id(CATEGORY_SURGE, "billing", 2 * MINUTE_MS)
    assert surge.examples == [f"x{i}" for i in range(5)]
    assert "trailing mean of 0.0 over 2 windows" in surge.reasons[0]


def test_no_surge_before_enough_baseline_windows(dict_state: DictState) -> None:
    history = AlertHistory(dict_state)
    alerts = detect(billing_surge("x"), 0, MINUTE_MS, history, RULES)
    assert [a.kind for a in alerts] == [NEGATIVE_SPIKE]


def test_a_category_at_its_usual_level_does_not_surge(dict_state: DictState) -> None:
    history = AlertHistory(dict_state)
    for i in range(4):
        detect(window(*(enriched(f"w{i}-{j}", "neutral", "billing") for j in range(4))),
               i * MINUTE_MS, (i + 1) * MINUTE_MS, history, RULES)  # fmt: skip
    steady = window(*(enriched(f"s{j}", "neutral", "billing") for j in range(5)))
    assert detect(steady, 4 * MINUTE_MS, 5 * MINUTE_MS, history, RULES) == []


def test_a_replayed_window_alerts_nothing_new(dict_state: DictState) -> None:
    history = AlertHistory(dict_state)
    first = detect(billing_surge("x"), MINUTE_MS, 2 * MINUTE_MS, history, RULES)
    assert first
    assert detect(billing_surge("x"), MINUTE_MS, 2 * MINUTE_MS, history, RULES) == []


def test_a_small_negative_window_is_not_a_spike(dict_state: DictState) -> None:
    history = AlertHistory(dict_state)
    assert detect(billing_surge("x", n=3), 0, MINUTE_MS, history, RULES) == []


# --- enrichment ---------------------------------------------------------------------


def feedback(fid: str, text: str, **extra: Any) -> Feedback:
    return Feedback(feedback_id=fid, ts=T0, source="email", text=text, **extra)


def test_masking_covers_the_text_and_every_free_text_extra() -> None:
    item = masked(feedback("f", "mail a@b.com", note="call +44 20 7946 0958", customer_id="c1"))
    assert item.text == "mail [email]"
    assert item.model_extra == {"note": "call [phone]"}
    assert item.customer_id == "c1"
    assert item.feedback_id == "f"


def test_texts_differing_only_in_pii_share_a_cache_key() -> None:
    assert text_key(feedback("1", "mail a@b.com now")) == text_key(
        feedback("2", "mail c@d.org now")
    )
    assert text_key(feedback("1", "late")) != text_key(feedback("1", "early"))


def enricher() -> Enricher:
    fixed = cast(Analyzer, SimpleNamespace(identity="fixed-v1"))  # only its identity is read
    return Enricher(AnalyzerVersions(fixed), timedelta(days=1))


def test_the_second_copy_of_a_text_comes_from_the_cache(dict_state: DictState) -> None:
    state = dict_state
    first = enricher().on_item(feedback("1", "late parcel"), state)
    assert isinstance(first, Pending)
    assert first == Pending("late parcel", first.raw, "fixed-v1", cached=None)  # to the batcher
    answered = enricher().on_answer(feedback("1", "late parcel"), GOOD, state)
    second = enricher().on_item(feedback("2", "late parcel"), state)
    assert isinstance(second, Enriched)
    assert (answered.from_cache, second.from_cache) == (False, True)
    assert second.event.feedback_id == "2"
    assert second.event.category == answered.event.category == "delivery"
    assert ("analysis:fixed-v1", timedelta(days=1)) in state.writes
    assert "in_flight" not in state.values  # nothing left waiting


def test_while_a_text_is_in_flight_its_later_copies_queue_behind_it(dict_state: DictState) -> None:
    state, text = dict_state, "late parcel"
    enricher().on_item(feedback("1", text), state)
    enricher().on_item(feedback("2", text), state)  # no answer yet: analyzed or reused later
    enricher().on_answer(feedback("1", text), GOOD, state)
    third = enricher().on_item(feedback("3", text), state)  # cached, but "2" is still out
    assert isinstance(third, Pending)
    assert third == Pending(text, third.raw, "fixed-v1", cached=GOOD)  # rides along, no call
    assert enricher().on_answer(feedback("2", text), GOOD, state).from_cache
    assert enricher().on_answer(feedback("3", text), GOOD, state).from_cache
    fourth = enricher().on_item(feedback("4", text), state)
    assert isinstance(fourth, Enriched)
    assert fourth.from_cache


def test_a_failed_answer_is_raised_for_the_dead_letter_and_caches_nothing(
    dict_state: DictState,
) -> None:
    state = dict_state
    enricher().on_item(feedback("1", "x"), state)
    failed = AnalysisFailed("ModelOutputInvalid: schema violation", {"raw": "{}"})
    with pytest.raises(AnalysisFailed, match="schema violation"):
        enricher().on_answer(feedback("1", "x"), failed, state)
    assert state.values == {}


def test_an_unknown_category_breaks_the_schema() -> None:
    with pytest.raises(ModelOutputInvalid, match="category"):
        validate_answer({**GOOD.to_json(), "category": "weather"}, SCHEMA)


def test_an_item_from_the_future_is_refused_within_the_skew_accepted() -> None:
    skew = timedelta(minutes=10)
    assert check_clock(feedback("1", "x"), T0 + timedelta(minutes=-9), skew).feedback_id == "1"
    with pytest.raises(FromTheFuture, match="ahead"):
        check_clock(feedback("1", "x"), T0 - timedelta(minutes=11), skew)


# --- settings and labelled data -----------------------------------------------------


def test_other_is_always_the_fallback_category() -> None:
    settings = FeedbackSettings(taxonomy={"billing": ["bills"], "other": ["anything"]})
    assert settings.categories == ["billing", "other"]
    with pytest.raises(ValueError, match="describing phrase"):
        FeedbackSettings(taxonomy={"billing": []})


def test_three_classes_from_mean_ratings() -> None:
    assert [label_of(r) for r in (2.0, 0.5, 0.0, -0.5, -0.51)] == [
        "positive", "neutral", "neutral", "neutral", "negative"]  # fmt: skip


def test_the_reserved_amazon_snippets_are_refused_for_training() -> None:
    with pytest.raises(ValueError, match="reserved"):
        training_items("train", ("tweets", "amazonReviewSnippets"))


def test_train_and_dev_splits_are_disjoint_and_cover_the_corpus() -> None:
    train, dev = training_items("train", ("tweets",)), training_items("dev", ("tweets",))
    assert not {i.item_id for i in train} & {i.item_id for i in dev}
    assert len(train) + len(dev) == 4200
    assert 0.15 < len(dev) / 4200 < 0.25


def test_examples_are_the_earliest_in_event_time_whatever_the_arrival_order() -> None:
    items = [
        enriched(f"x{i}", "negative", "billing").model_copy(
            update={"ts": T0 + timedelta(seconds=i)}
        )
        for i in range(7)
    ]
    arrival = [items[6], items[3], items[0], items[5], items[1], items[4], items[2]]
    agg = window(*arrival)
    expected = [f"x{i}" for i in range(insights.KEEP_EXAMPLES)]
    assert insights.example_ids(agg["category_examples"]["billing"]) == expected
    assert insights.example_ids(agg["negative_examples"]) == expected
