r"""Label corrections that teach the classifier this deployment's language, live.

feedback-enriched -(feedback_id)-\
                                   +-> join (per id) -(one key)-> learn --> feedback-classifier
feedback-labels   -(feedback_id)-/                                    \--> versions in effect

* ``LabelJoin`` keeps per feedback id the item's masked text until a label comes (or
  the label until its item comes) and emits the pair; a later label replaces the earlier.
* ``Learner`` (all labels on one key: one process learns) turns each pair into a lesson
  (the item's head features and vector, one encoder call per label: labels come at human
  pace), and after ``FEEDBACK_LEARN_MIN_LABELS`` lessons, then every
  ``FEEDBACK_LEARN_EVERY`` new ones, refits from the *shipped* parameters on all of them:
  the sentiment head (``analyzers/refit.py``) and the category prototypes
  (``analyzers/prototypes.py``). Each part is validated on the held-back labels (a
  stable fifth, by feedback id) against the version in use and kept only if not worse;
  if neither part is kept, nothing ships and the record says so.
* A version is a digest of the shipped head's version and the labels, so a replay of
  the same labels makes the same version, and a version already published is not
  published again (its first ``effective_from`` stands: ``analyzers/versions.py``).
* A shipped version takes effect for items stamped from ``effective_from``: after the
  latest item this process analyzed and after now, plus ``FEEDBACK_LEARN_DELAY`` for
  the other processes of the pipeline to read it from the topic first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from quixstreams.state import State

from pipelines.common.epoch import from_ms, to_ms
from pipelines.common.events import EnrichedFeedback, FeedbackClassifier, FeedbackLabel
from pipelines.feedback.analyzers.prototypes import learn_prototypes
from pipelines.feedback.analyzers.refit import Correction, RefitSettings, held_back, refit
from pipelines.feedback.analyzers.versions import AnalyzerVersions, Learnable
from state.labels import LabelCase, LabelCaseStore, Lesson, LessonStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labelled:
    """A label met its item: the item's masked text and what it should have been."""

    feedback_id: str
    text: str
    sentiment: str | None
    category: str | None


@dataclass(frozen=True)
class LabelJoin:
    """The join of labels to items by feedback id; ``categories`` a label may name."""

    categories: tuple[str, ...]
    ttl: timedelta

    def join(
        self, event: EnrichedFeedback | FeedbackLabel, state: State[str, Any]
    ) -> Labelled | None:
        store = LabelCaseStore(state, self.ttl)
        case = store.load()
        if isinstance(event, FeedbackLabel):
            if event.category is not None and event.category not in self.categories:
                msg = f"category {event.category!r} is not one of {list(self.categories)!r}"
                raise ValueError(msg)
            if case.label_ms is not None and to_ms(event.ts) < case.label_ms:
                return None  # an older label delivered after a newer one
            case = replace(case, sentiment=event.sentiment, category=event.category,
                           label_ms=to_ms(event.ts))  # fmt: skip
        else:
            case = replace(case, text=event.text, item_ms=to_ms(event.ts))
        store.save(case)
        return _pair(event.feedback_id, case)


def _pair(feedback_id: str, case: LabelCase) -> Labelled | None:
    if case.text is None or case.label_ms is None:
        return None
    return Labelled(feedback_id, case.text, case.sentiment, case.category)


@dataclass(frozen=True)
class LearnSettings:
    min_labels: int
    every: int
    delay: timedelta
    max_lessons: int
    refit: RefitSettings = field(default_factory=RefitSettings)


class Learner:
    """Lessons from labelled items, and a refit when enough new ones came."""

    def __init__(
        self,
        versions: AnalyzerVersions,
        shipped: Learnable,
        settings: LearnSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._versions, self._shipped = versions, shipped
        self._settings, self._clock = settings, clock

    def learn(self, labelled: dict[str, Any], state: State[str, Any]) -> list[FeedbackClassifier]:
        """Keep the lesson; the refit's record if this label made one due."""
        pair = Labelled(**labelled)
        store = LessonStore(state, self._settings.max_lessons)
        known = store.get(pair.feedback_id)
        if known is not None and (known.sentiment, known.category) == (
            pair.sentiment,
            pair.category,
        ):
            return []  # the same label again (a replay, a redelivery): nothing new
        features, vectors = self._shipped.lesson_inputs([pair.text])
        store.put(Lesson(pair.feedback_id, pair.sentiment, pair.category,
                         tuple(features[0]), tuple(vectors[0])))  # fmt: skip
        new = store.new_since_refit() + 1
        due = self._settings.min_labels if store.refits() == 0 else self._settings.every
        if new < due:
            store.set_new_since_refit(new)
            return []
        store.set_new_since_refit(0)
        store.set_refits(store.refits() + 1)
        record = self.refit(store.all())
        if self._versions.knows(record.version):
            return []
        logger.info(
            "feedback classifier refit %s on %d labels (%d held back): sentiment accuracy "
            "%s against %s, category %s against %s: %s", record.version, record.labels,
            record.held_back, record.accuracy, record.previous_accuracy,
            record.category_accuracy, record.previous_category_accuracy,
            "shipped" if record.shipped else "not shipped (no better on the held-back labels)",
        )  # fmt: skip
        self._versions.add(record)
        return [record]

    def refit(self, lessons: Sequence[Lesson]) -> FeedbackClassifier:
        """Refit both parts from the shipped parameters; validate each against the latest."""
        shipped, latest = self._shipped, self._versions.latest()
        current = latest if isinstance(latest, Learnable) else shipped  # refits of shipped
        percent = self._settings.refit.holdout_percent
        said = [lesson for lesson in lessons if lesson.sentiment is not None]
        sentiment = refit(shipped.head, current.head,
                          [Correction(s.feedback_id, s.features, str(s.sentiment)) for s in said],
                          self._settings.refit)  # fmt: skip
        named = [lesson for lesson in lessons if lesson.category is not None]
        train = [n for n in named if not held_back(n.feedback_id, percent)]
        check = [n for n in named if held_back(n.feedback_id, percent)]
        learned = learn_prototypes([n.vector for n in train], [str(n.category) for n in train])
        candidate_space = shipped.taxonomy_space.with_learned(learned)
        vectors, labels = [c.vector for c in check], [str(c.category) for c in check]
        category_accuracy = candidate_space.accuracy(vectors, labels)
        previous_category_accuracy = current.category_space.accuracy(vectors, labels)
        categories_kept = bool(check) and category_accuracy >= previous_category_accuracy
        version = classifier_version(shipped.head.version, lessons)
        head = sentiment.head if sentiment.shipped else current.head
        head = replace(head, metadata={**head.metadata, "version": version})
        prototypes = learned if categories_kept else dict(current.learned)
        shipped_any = sentiment.shipped or categories_kept
        return FeedbackClassifier(
            version=version,
            model=shipped.refitted(head, prototypes).model_id,
            ts=self._clock(),
            effective_from=self._effective_from(),
            shipped=shipped_any,
            labels=len(lessons),
            held_back=sum(held_back(lesson.feedback_id, percent) for lesson in lessons),
            accuracy=sentiment.candidate_accuracy if sentiment.held_back else None,
            previous_accuracy=sentiment.current_accuracy if sentiment.held_back else None,
            category_accuracy=category_accuracy if check else None,
            previous_category_accuracy=previous_category_accuracy if check else None,
            head=head.to_json() if shipped_any else None,
            prototypes={k: list(v) for k, v in prototypes.items()} if shipped_any else None,
        )

    def _effective_from(self) -> datetime:
        after = max(to_ms(self._clock()), self._versions.latest_item_ms + 1)
        return from_ms(after) + self._settings.delay


def classifier_version(base_version: str, lessons: Sequence[Lesson]) -> str:
    """Digest of the shipped head's version and every (id, sentiment, category) learned."""
    labels = sorted((lesson.feedback_id, lesson.sentiment or "", lesson.category or "")
                    for lesson in lessons)  # fmt: skip
    return hashlib.sha256(json.dumps([base_version, labels]).encode()).hexdigest()[:12]
