"""Emerging-issue rules over closed insight windows: pure functions of a window and its past.

* ``negative_spike``: a window with at least ``negative_min_count`` items of which a
  share of at least ``negative_share`` is negative;
* ``category_surge``: a category with at least ``surge_min_count`` items in a window and
  at least ``surge_factor`` times its mean over the trailing ``baseline_windows`` windows
  (a quiet category counts as 1), once ``min_baseline_windows`` windows were seen.

An issue alerts once when it starts, not in every window while it lasts: an episode
stays open while consecutive windows keep meeting the rule. Alert ids hash the kind,
category and window start, so a replay re-emits the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from pipelines.common.epoch import from_ms
from pipelines.common.events import FeedbackAlert
from pipelines.feedback.insights import Aggregate, example_ids
from pipelines.feedback.settings import FeedbackSettings

NEGATIVE_SPIKE = "negative_spike"
CATEGORY_SURGE = "category_surge"
ALL_CATEGORIES = "all"


@dataclass(frozen=True)
class AlertRules:
    negative_share: float
    negative_min_count: int
    surge_factor: float
    surge_min_count: int
    baseline_windows: int
    min_baseline_windows: int

    @classmethod
    def from_settings(cls, settings: FeedbackSettings) -> AlertRules:
        return cls(
            negative_share=settings.negative_share,
            negative_min_count=settings.negative_min_count,
            surge_factor=settings.surge_factor,
            surge_min_count=settings.surge_min_count,
            baseline_windows=settings.baseline_windows,
            min_baseline_windows=settings.min_baseline_windows,
        )


class WindowHistory(Protocol):
    """What the rules remember between windows (a typed view over state in the pipeline)."""

    def past_category_counts(self) -> list[dict[str, int]]:
        """Category counts of the trailing windows, oldest first."""
        ...

    def last_window_start(self) -> int | None: ...

    def open_episodes(self) -> set[str]: ...

    def record(
        self, start_ms: int, categories: dict[str, int], episodes: set[str], keep: int
    ) -> None: ...


def alert_id(kind: str, category: str, start_ms: int) -> str:
    return hashlib.sha256(f"{kind}|{category}|{start_ms}".encode()).hexdigest()[:20]


def _alert(
    kind: str, category: str, window: tuple[int, int], reasons: list[str], examples: list[str]
) -> FeedbackAlert:
    start_ms, end_ms = window
    return FeedbackAlert(
        alert_id=alert_id(kind, category, start_ms),
        kind=kind,
        window_start=from_ms(start_ms),
        window_end=from_ms(end_ms),
        category=category,
        reasons=reasons,
        examples=examples,
    )


def detect(
    agg: Aggregate, start_ms: int, end_ms: int, history: WindowHistory, rules: AlertRules
) -> list[FeedbackAlert]:
    """Alerts for the closed window ``[start_ms, end_ms)``; updates ``history``.

    A window at or before the last one recorded (a replay) changes nothing and alerts nothing.
    """
    last = history.last_window_start()
    if last is not None and start_ms <= last:
        return []
    was_open, now_open = history.open_episodes(), set()
    alerts: list[FeedbackAlert] = []

    count, negative = agg["count"], agg["sentiments"].get("negative", 0)
    if count >= rules.negative_min_count and negative / count >= rules.negative_share:
        now_open.add(NEGATIVE_SPIKE)
        if NEGATIVE_SPIKE not in was_open:
            reason = (
                f"{negative} of {count} items negative ({negative / count:.0%}; "
                f"threshold {rules.negative_share:.0%} of at least {rules.negative_min_count})"
            )
            alerts.append(_alert(NEGATIVE_SPIKE, ALL_CATEGORIES, (start_ms, end_ms), [reason],
                                 example_ids(agg["negative_examples"])))  # fmt: skip

    past = history.past_category_counts()[-rules.baseline_windows :]
    if len(past) >= rules.min_baseline_windows:
        for category, n in sorted(agg["categories"].items()):
            mean = sum(window.get(category, 0) for window in past) / len(past)
            if n < rules.surge_min_count or n < rules.surge_factor * max(mean, 1.0):
                continue
            episode = f"{CATEGORY_SURGE}:{category}"
            now_open.add(episode)
            if episode in was_open:
                continue
            reason = (
                f"{n} '{category}' items in this window against a trailing mean of {mean:.1f} "
                f"over {len(past)} windows (x{n / max(mean, 1.0):.1f}; threshold "
                f"x{rules.surge_factor:g} and at least {rules.surge_min_count})"
            )
            examples = example_ids(agg["category_examples"].get(category, []))
            alerts.append(_alert(CATEGORY_SURGE, category, (start_ms, end_ms), [reason], examples))

    history.record(start_ms, agg["categories"], now_open, keep=rules.baseline_windows)
    return alerts
