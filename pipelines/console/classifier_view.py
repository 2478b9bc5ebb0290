"""The feedback classifier as the console shows it, and the labels people gave: pure.

``feedback-classifier`` holds every refit of the classifier, shipped or not (key:
version). The *current* version is the latest record, by ``ts``, with ``shipped``
true: that is what ``model`` on ``feedback-enriched`` names from its ``effective_from``
on. The latest refit is shown as well when it is newer and was not shipped (its
accuracy on the held-back labels did not beat the previous one's), so an operator sees
why the labels given did not change the model yet. ``feedback-labels`` is read back so
the page shows a correction once the broker has it, whoever gave it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

JsonDict = dict[str, Any]

CLASSIFIER = "feedback-classifier"
LABELS = "feedback-labels"

SHOWN = (
    *("version", "model", "ts", "effective_from", "shipped", "labels", "held_back"),
    *("accuracy", "previous_accuracy", "category_accuracy", "previous_category_accuracy"),
)
"""The fields the page shows: a refit's head and prototypes are weights, not figures."""


class ClassifierView:
    """The current and latest classifier versions and the latest ``labels`` labels by item."""

    def __init__(self, *, labels: int = 1_000) -> None:
        self._current: JsonDict | None = None
        self._latest: JsonDict | None = None
        self._labels: OrderedDict[str, JsonDict] = OrderedDict()
        self._keep_labels = labels
        self._lock = threading.Lock()

    def add(self, topic: str, value: JsonDict) -> None:
        """One record of ``feedback-classifier`` or ``feedback-labels``; others are ignored."""
        with self._lock:
            if topic == CLASSIFIER:
                shown = {k: value.get(k) for k in SHOWN}
                if self._latest is None or _when(shown) >= _when(self._latest):
                    self._latest = shown
                if shown["shipped"] and (
                    self._current is None or _when(shown) >= _when(self._current)
                ):
                    self._current = shown
            elif topic == LABELS:
                self._labels.pop(value["feedback_id"], None)  # a later label replaces
                self._labels[value["feedback_id"]] = value
                while len(self._labels) > self._keep_labels:
                    self._labels.popitem(last=False)

    def summary(self) -> JsonDict:
        """``current`` (shipped), ``unshipped`` (the latest refit when newer and not shipped)."""
        with self._lock:
            current, latest = self._current, self._latest
            labels = dict(self._labels)
        unshipped = latest if latest is not None and not latest["shipped"] else None
        if unshipped is not None and current is not None and _when(unshipped) < _when(current):
            unshipped = None
        return {"current": current, "unshipped": unshipped, "labels": labels}


def _when(record: JsonDict) -> datetime:
    """A record's ``ts`` as an instant: producers may write ``Z`` or ``+00:00``."""
    return datetime.fromisoformat(str(record["ts"]))
