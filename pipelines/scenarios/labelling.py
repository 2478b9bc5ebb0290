"""The demo's support agent: relabels a batch of enriched feedback with its true sentiment
and category.

The generator writes each item from a phrasing of one (category, sentiment) pair
(``feedback/generator.py`` ``PHRASES``) but does not return the pair: ``true_label``
finds it again by matching the text against the phrasings (names, numbers and the
contact details appended after them vary, the phrasing does not).

The agent reviews the items the classifier got wrong (sentiment or category) first, as a
support team does (those are the ones customers complain about), and confirms some it
got right: the batch is a realistic mix, and the feedback pipeline learns from both. Then the demo
waits for the refit on ``feedback-classifier``; ``classifier_lines`` says what it did.
Pure: no broker and no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast, get_args

from pipelines.common.events import FeedbackLabel, Sentiment
from pipelines.feedback.generator import NAMES, PHRASES

LABELLER = "support-agent"
BATCH = 40
"""Labels in the batch: the refit threshold the demo sets, so one refit learns from them all."""
WRONG_SHARE = 0.6
"""At most this share of the batch corrects a mistake; the rest confirms right answers."""
_SLOTS = {"n": r"\d+", "order": r"\d+", "name": "(?:" + "|".join(map(re.escape, NAMES)) + ")"}


def _pattern(phrasing: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", phrasing)  # text, slot, text, slot, ..., text
    return re.compile("".join(_SLOTS[p] if i % 2 else re.escape(p) for i, p in enumerate(parts)))


_PHRASINGS = [
    (_pattern(phrasing), category, sentiment)
    for (category, sentiment), phrasings in PHRASES.items()
    for phrasing in phrasings
]


def true_label(text: str) -> tuple[str, Sentiment] | None:
    """The (category, sentiment) the generator wrote ``text`` for; None if no phrasing fits."""
    for pattern, category, sentiment in _PHRASINGS:
        if pattern.match(text):
            return category, _sentiment(sentiment)
    return None


def _sentiment(value: str) -> Sentiment:
    for sentiment in get_args(Sentiment):
        if value == sentiment:
            return cast("Sentiment", sentiment)
    msg = f"not a sentiment: {value!r}"
    raise ValueError(msg)


def _order(feedback_id: str) -> bytes:
    """A stable shuffle: the agent's pick does not follow arrival order."""
    return hashlib.sha256(f"review:{feedback_id}".encode()).digest()


Label = tuple[str, Sentiment]
"""What an item is about and how its writer feels: (category, sentiment)."""


@dataclass(frozen=True)
class Batch:
    """The labels the agent sends, and how many of them correct the classifier."""

    labels: list[FeedbackLabel]
    corrections: int
    wrong_sentiment: int
    wrong_category: int

    @property
    def confirmations(self) -> int:
        return len(self.labels) - self.corrections


def relabel(
    enriched: Mapping[str, tuple[str, str]],
    truth: Mapping[str, Label],
    now: datetime,
    size: int = BATCH,
) -> Batch:
    """Labels for up to ``size`` of the ``enriched`` items (id -> the classifier's
    (category, sentiment)) whose truth is known: the mistakes first, up to ``WRONG_SHARE``
    of the batch, then right answers, each group in a stable shuffled order."""
    known = sorted((i for i in enriched if i in truth), key=_order)
    wrong = [i for i in known if enriched[i] != truth[i]]
    right = [i for i in known if enriched[i] == truth[i]]
    picked_wrong = wrong[: max(int(size * WRONG_SHARE), size - len(right))]
    picked = picked_wrong + right[: size - len(picked_wrong)]
    labels = [
        FeedbackLabel(
            feedback_id=i, ts=now, category=truth[i][0], sentiment=truth[i][1], labeller=LABELLER
        )
        for i in picked
    ]
    return Batch(
        labels,
        len(picked_wrong),
        wrong_sentiment=sum(enriched[i][1] != truth[i][1] for i in picked_wrong),
        wrong_category=sum(enriched[i][0] != truth[i][0] for i in picked_wrong),
    )


def classifier_lines(
    record: Mapping[str, Any] | None, batch: Batch | None, model_before: str | None, waited_s: float
) -> list[str]:
    """The summary of the relabelled batch and what the refit on it did."""
    if batch is None or not batch.labels:
        return ["classifier: nothing relabelled (no enriched item with a known truth)"]
    lines = [
        f"classifier: a support agent relabelled {len(batch.labels)} items: "
        f"{batch.corrections} the classifier got wrong ({batch.wrong_sentiment} sentiment, "
        f"{batch.wrong_category} category), {batch.confirmations} it got right"
    ]
    if record is None and len(batch.labels) < BATCH:
        return [
            *lines,
            f"classifier: no refit: {len(batch.labels)} labels are fewer than the {BATCH} the "
            "demo's feedback pipeline waits for (FEEDBACK_LEARN_MIN_LABELS; a longer --seconds "
            "gives more items)",
        ]
    if record is None:
        return [
            *lines,
            f"classifier: no feedback-classifier record within {waited_s:.0f} s of the labels: "
            "this feedback pipeline does not learn from feedback-labels (yet)",
        ]
    before = model_before or "the shipped head"
    lines.append(f"classifier: {before} -> {record.get('model')} (version {record.get('version')})")
    held = record.get("held_back", 0)
    if record.get("shipped"):
        since = str(record.get("effective_from", ""))[11:19]
        why = f"shipped, for items from {since} UTC: not less accurate than the version in use"
    elif not held:
        why = "not shipped: no label was held back to validate it"
    else:
        why = "not shipped: less accurate than the version in use"
    lines.append(f"classifier: {why}")
    lines.append(
        f"classifier: on {held} held-back labels (of {record.get('labels', 0)}): sentiment "
        f"accuracy {_change(record, 'accuracy')}, category accuracy "
        f"{_change(record, 'category_accuracy')}"
    )
    return lines


def _change(record: Mapping[str, Any], field: str) -> str:
    return f"{_score(record.get(f'previous_{field}'))} -> {_score(record.get(field))}"


def _score(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def latest_classifier(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The refit published last, if any."""
    return records[-1] if records else None
