"""What the feedback pipeline keeps to learn from labels: items awaiting labels, and lessons.

Two views over Quix state, one per stateful step (each keyed differently):

* ``LabelCaseStore`` (per feedback id): the item's masked text and time until a label
  comes, or a label until its item comes (a label may come first: produced by hand, or
  replayed). Forgotten ``ttl`` of event time after the last change: an item nobody
  labels does not stay forever. About a hundred bytes per item, where its vectors
  would be three kilobytes: the features are made only for the few items labelled.
* ``LessonStore`` (one key for the deployment): every label joined to its item, with
  the item's features, and how many came since the last refit. Vectors are kept as
  float32 in base64 (a quarter of their JSON size); float32 is what the encoder gives.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from quixstreams.state.base import State


@dataclass(frozen=True)
class LabelCase:
    """One feedback id: its item's masked text and time once seen, its latest label."""

    text: str | None = None
    item_ms: int | None = None
    sentiment: str | None = None
    category: str | None = None
    label_ms: int | None = None


class LabelCaseStore:
    """Reads and writes the current feedback id's case; build one per message."""

    _KEY = "case"

    def __init__(self, state: State[str, Any], ttl: timedelta) -> None:
        self._state, self._ttl = state, ttl

    def load(self) -> LabelCase:
        raw = self._state.get(self._KEY)
        return LabelCase(*raw) if raw is not None else LabelCase()

    def save(self, case: LabelCase) -> None:
        row = [case.text, case.item_ms, case.sentiment, case.category, case.label_ms]
        self._state.set(self._KEY, row, ttl=self._ttl)


@dataclass(frozen=True)
class Lesson:
    """A label joined to its item: what to learn (either part may be missing) and from what.

    ``features`` are the sentiment head's input (tuned embedding and lexicon scores),
    ``vector`` the plain embedding the categories are decided on.
    """

    feedback_id: str
    sentiment: str | None
    category: str | None
    features: tuple[float, ...]
    vector: tuple[float, ...]


class LessonStore:
    """Every lesson of the deployment, the newest ``limit``, and the count since the last refit.

    Lessons live under a key each, listed in arrival order under ``ids``: Quix state
    cannot be iterated, and one value holding them all would be rewritten whole per label.
    """

    def __init__(self, state: State[str, Any], limit: int) -> None:
        self._state, self._limit = state, limit

    def ids(self) -> list[str]:
        ids: list[str] = self._state.get("ids", [])
        return ids

    def get(self, feedback_id: str) -> Lesson | None:
        raw = self._state.get(f"lesson:{feedback_id}")
        if raw is None:
            return None
        sentiment, category, features, vector = raw
        return Lesson(feedback_id, sentiment, category, _floats(features), _floats(vector))

    def put(self, lesson: Lesson) -> None:
        """Keep ``lesson`` (replacing the item's earlier one); forget the oldest past the limit."""
        ids = [known for known in self.ids() if known != lesson.feedback_id]
        ids.append(lesson.feedback_id)
        for dropped in ids[: max(0, len(ids) - self._limit)]:
            self._state.delete(f"lesson:{dropped}")
        self._state.set("ids", ids[-self._limit :])
        row = [lesson.sentiment, lesson.category, _packed(lesson.features), _packed(lesson.vector)]
        self._state.set(f"lesson:{lesson.feedback_id}", row)

    def all(self) -> list[Lesson]:
        return [lesson for known in self.ids() if (lesson := self.get(known)) is not None]

    def new_since_refit(self) -> int:
        count: int = self._state.get("new", 0)
        return count

    def set_new_since_refit(self, count: int) -> None:
        self._state.set("new", count)

    def refits(self) -> int:
        """How many refits were tried: the first waits for more labels than the next ones."""
        count: int = self._state.get("refits", 0)
        return count

    def set_refits(self, count: int) -> None:
        self._state.set("refits", count)

    def current(self) -> dict[str, Any] | None:
        """The last shipped version's record (its parameters): what a refit must beat."""
        record: dict[str, Any] | None = self._state.get("current")
        return record

    def set_current(self, record: dict[str, Any]) -> None:
        self._state.set("current", record)


def _packed(values: tuple[float, ...]) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()


def _floats(packed: str) -> tuple[float, ...]:
    return tuple(float(x) for x in np.frombuffer(base64.b64decode(packed), dtype="<f4"))
