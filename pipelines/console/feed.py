"""The console's feed: every topic it shows, read from the beginning, into its views.

A throwaway consumer group that never commits, so every start rebuilds the picture
from the topics of ``DASHBOARD_ACCESS.reads`` (fraud, feedback and knowledge): the
topics are the only source, the console keeps no copy of its own. Each record goes to
every view; a view takes the topics it knows and ignores the rest.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from confluent_kafka import Consumer

from pipelines.common.access import DASHBOARD_ACCESS, DASHBOARD_GROUP_PREFIX
from pipelines.common.clients import client_config
from pipelines.common.outage import watching
from pipelines.common.settings import StreamwiseSettings

logger = logging.getLogger(__name__)


class View(Protocol):
    """What the reader feeds: one decoded record of a topic (its unprefixed name)."""

    def add(self, topic: str, value: dict[str, Any]) -> None: ...


class TopicReader(threading.Thread):
    """Feeds ``views`` from the console's topics until ``stop()``."""

    def __init__(self, settings: StreamwiseSettings, views: Sequence[View]) -> None:
        super().__init__(name="dashboard-reader", daemon=True)
        self._settings, self._views = settings, tuple(views)
        self._stopping = threading.Event()
        group = f"{settings.topic_prefix}{DASHBOARD_GROUP_PREFIX}{uuid.uuid4().hex[:8]}"
        self.outage = watching(
            client_config(settings), "the page shows what was read before and says it may be stale"
        )
        self._consumer = Consumer(
            {
                **client_config(settings),
                **self.outage.stats_config(),
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )

    def run(self) -> None:
        prefix = self._settings.topic_prefix
        self._consumer.subscribe([prefix + topic for topic in DASHBOARD_ACCESS.reads])
        try:
            while not self._stopping.is_set():
                message = self._consumer.poll(0.5)
                if message is None or message.error() is not None or message.value() is None:
                    continue
                try:
                    value = orjson.loads(message.value())
                    for view in self._views:
                        view.add(message.topic()[len(prefix) :], value)
                except (ValueError, KeyError, TypeError) as exc:  # JSON or timestamp
                    logger.warning("dashboard skipped a record of %s: %s", message.topic(), exc)
        finally:
            self._consumer.close()

    def stop(self) -> None:
        self._stopping.set()
