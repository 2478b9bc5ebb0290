"""What an operator does from the console: a fraud verdict, a corrected feedback label.

The page posts a small JSON body; ``verdict_event`` and ``label_event`` turn it into the
contract event, validated by the event's own pydantic model (the same check every
consumer of the topic relies on), stamped now, with the token's name as analyst or
labeller when auth is on (the body cannot claim to be someone else then). Anything
else is a ``BadAction`` with one sentence naming the field, and nothing is produced.
``Publisher`` produces the event keyed as the topic's contract says, with the producer
settings every client of ours uses (``clients.producer_config``, the engine's quirks
included) and the outage watch ``serve`` uses, so a dead broker answers at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from confluent_kafka import Producer
from pydantic import ValidationError

from pipelines.common.clients import client_config, producer_config
from pipelines.common.events import Event, FeedbackLabel, FraudVerdict
from pipelines.common.outage import watching
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings

VERDICT_FIELDS = frozenset({"alert_id", "verdict", "note", "analyst"})
LABEL_FIELDS = frozenset({"feedback_id", "sentiment", "category", "labeller"})
E = TypeVar("E", bound=Event)


class BadAction(ValueError):
    """A posted body that is not a verdict or label we may publish."""


class BrokerUnavailable(ConnectionError):
    """The broker did not take the event; nothing is promised to have been published."""


def _body(raw: bytes, allowed: frozenset[str]) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        msg = f"body is not JSON: {exc}"
        raise BadAction(msg) from exc
    if not isinstance(data, dict):
        msg = "body must be a JSON object"
        raise BadAction(msg)
    unknown = sorted(set(data) - allowed)
    if unknown:
        msg = f"unknown field {unknown[0]!r}; expected some of {sorted(allowed)}"
        raise BadAction(msg)
    return data


def _validated(model: type[E], data: dict[str, Any]) -> E:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        msg = f"{where}: {first['msg']} (got {first.get('input')!r:.60})"
        raise BadAction(msg) from None


def verdict_event(raw: bytes, who: str | None, now: datetime | None = None) -> FraudVerdict:
    """The ``FraudVerdict`` a posted ``{alert_id, verdict, note?, analyst?}`` stands for.

    ``who``: the token's name when auth is on; it replaces any ``analyst`` in the body.
    """
    data = _body(raw, VERDICT_FIELDS)
    if who is not None:
        data["analyst"] = who
    return _validated(FraudVerdict, {**data, "ts": now or datetime.now(UTC)})


def label_event(raw: bytes, who: str | None, now: datetime | None = None) -> FeedbackLabel:
    """The ``FeedbackLabel`` a posted ``{feedback_id, sentiment?, category?, labeller?}`` is.

    A label that corrects nothing (neither sentiment nor category) is refused by the
    event itself: it would teach the classifier nothing.
    """
    data = _body(raw, LABEL_FIELDS)
    if who is not None:
        data["labeller"] = who
    return _validated(FeedbackLabel, {**data, "ts": now or datetime.now(UTC)})


class Publisher:
    """Produces one event at a time and waits until the broker has it (thread-safe)."""

    MEANWHILE = "verdicts and labels are answered 503 until it is back"

    def __init__(self, settings: StreamwiseSettings) -> None:
        self._prefix = settings.topic_prefix
        self.outage = watching(client_config(settings), self.MEANWHILE)
        self._producer = Producer({**producer_config(settings), **self.outage.stats_config()})

    def publish(self, topic: str, key: str, event: Event, timeout_s: float = 10.0) -> None:
        """Produce ``event`` to ``topic`` (unprefixed) under ``key``; ``BrokerUnavailable`` if
        the broker is down or did not acknowledge it within ``timeout_s``."""
        if self.outage.ongoing:
            msg = f"the broker is unreachable: nothing was published to {topic!r}; retry later"
            raise BrokerUnavailable(msg)
        name = self._prefix + topic
        self._producer.produce(name, key=key, value=encode_json(event))
        if self._producer.flush(timeout_s) != 0:
            msg = f"could not publish to {name!r} within {timeout_s:g}s"
            raise BrokerUnavailable(msg)
