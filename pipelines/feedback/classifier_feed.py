"""Every process of the feedback pipeline reads ``feedback-classifier`` into its versions.

The learner runs in one process (all labels share a key); the versions it ships must
reach the enrichment of every partition, in every process, before items stamped from
their ``effective_from`` arrive there (``FEEDBACK_LEARN_DELAY`` is that margin). So each
process reads the whole topic (compacted: one record per version) without a consumer
group, first to its end before the pipeline starts (a restart knows every version
before it analyzes anything), then as it grows, on a thread of its own.
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from pydantic import ValidationError

from pipelines.common.clients import client_config
from pipelines.common.events import FeedbackClassifier
from pipelines.common.settings import StreamwiseSettings
from pipelines.feedback.analyzers.versions import AnalyzerVersions

logger = logging.getLogger(__name__)

TOPIC = "feedback-classifier"
CATCH_UP_S = 30.0


class ClassifierFeed(threading.Thread):
    """Adds each shipped version on ``feedback-classifier`` to ``versions`` until ``stop()``."""

    def __init__(self, settings: StreamwiseSettings, versions: AnalyzerVersions) -> None:
        super().__init__(name="classifier-feed", daemon=True)
        self._versions = versions
        self._topic = settings.topic_prefix + TOPIC
        self._stopping = threading.Event()
        self._consumer = Consumer({
            **client_config(settings),
            "group.id": f"{settings.topic_prefix}streamwise-classifier-feed",  # never joined
            "enable.auto.commit": False,
        })  # fmt: skip

    def catch_up(self, timeout_s: float = CATCH_UP_S) -> None:
        """Assign every partition from the start and read up to the current end."""
        metadata = self._consumer.list_topics(self._topic, timeout=timeout_s)
        partitions = sorted(metadata.topics[self._topic].partitions)
        self._consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING)
                               for p in partitions])  # fmt: skip
        marks = {p: self._consumer.get_watermark_offsets(TopicPartition(self._topic, p),
                                                         timeout=timeout_s)
                 for p in partitions}  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not self._at_end(marks):
            if time.monotonic() > deadline:
                msg = f"{self._topic} not read to its end in {timeout_s:.0f} s"
                raise TimeoutError(msg)
            message = self._consumer.poll(0.5)
            if message is not None and message.error() is None:
                self._take(message.value())

    def _at_end(self, marks: dict[int, tuple[int, int]]) -> bool:
        """Whether every partition's position passed its end as it was at the start (by
        position, not by last offset read: transaction markers take offsets too)."""
        positions = self._consumer.position([TopicPartition(self._topic, p) for p in marks])
        return all(low == high or tp.offset >= high
                   for tp in positions for low, high in [marks[tp.partition]])  # fmt: skip

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                message = self._consumer.poll(0.5)
                if message is not None and message.error() is None:
                    self._take(message.value())
        except KafkaException:
            logger.exception("the classifier feed stopped: new versions reach this process "
                             "only after a restart")  # fmt: skip
        finally:
            self._consumer.close()

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=5)

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            self._versions.add(FeedbackClassifier.model_validate_json(value))
        except (ValidationError, ValueError) as exc:
            logger.warning("skipped a record of %s: %s", self._topic, exc)


def start_classifier_feed(
    settings: StreamwiseSettings, versions: AnalyzerVersions
) -> ClassifierFeed:
    """A feed that has read every version published so far, running on for later ones."""
    feed = ClassifierFeed(settings, versions)
    feed.catch_up()
    feed.start()
    return feed
