"""Dead-letter topics: nothing is lost, nothing crashes a pipeline.

A poison message (undecodable bytes, an event that breaks the contract, a stage
that keeps failing) goes to ``<pipeline>-dlq`` with its original key, value and
headers plus headers naming the error, the stage and where it came from (the input
topic, also after a repartition); the pipeline moves on. An outage (broker, model
server, Chroma) is not poison: the stage backs off and retries, and if the outage
outlasts its budget the pipeline stops without committing, so a restart picks the
message up again.

DLQ writes are flushed before the callback returns, so they land before the
source offset is committed (at-least-once; a crash in between can write a
dead letter twice, never zero times). The offset of a dead-lettered message is
committed like a processed one's, also when no later message follows it
(``StreamwiseApplication``), so a restart does not send it again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from confluent_kafka import KafkaException, Producer
from quixstreams.kafka.exceptions import BaseKafkaException
from quixstreams.models import Row

from models.errors import ModelUnavailable
from models.retry import Retry
from pipelines.common.origin import split_origin
from pipelines.common.outage import WAITING_OUT
from pipelines.common.serialization import encode_json, original_bytes
from state.vectors import VectorStoreUnavailable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

HEADER_PREFIX = "streamwise."
DECODE_STAGE = "decode"

# Errors that mean "a dependency is down", never "this message is bad". Producer
# delivery errors belong here too: they surface asynchronously, while a *later*
# message is processed, so blaming the current message would dead-letter a good one.
OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    KafkaException,
    BaseKafkaException,
    ModelUnavailable,
    VectorStoreUnavailable,
)


def _lower_half() -> float:
    """A draw in [0, 0.5): with ``jitter=0.5`` a wait is half to all of its backoff, never more."""
    return random.random() / 2


OUTAGE_BACKOFF = Retry(base_delay_s=0.5, max_delay_s=30.0, jitter=0.5, rand=_lower_half)
"""Waits between a stage's outage retries: 0.5 s doubling to 30 s, each shortened by up to half.

Only its delays and ``sleep`` are used: how long a stage keeps retrying an outage is
its ``outage_budget_s``, not a number of attempts.
"""


class StageFailed(Exception):
    """A stage gave up on a message after ``attempts`` tries; ``__cause__`` says why."""

    def __init__(self, stage: str, attempts: int) -> None:
        super().__init__(f"stage {stage!r} failed after {attempts} attempt(s)")
        self.stage = stage
        self.attempts = attempts


class OutageOutlasted(ConnectionError):
    """A step's dependency stayed down past the outage budget: the pipeline stops (an
    outage, not poison) without committing, in one line that says what to do."""

    def __init__(self, stage: str, budget_s: float, cause: BaseException) -> None:
        super().__init__(
            f"stage {stage!r} waited out an outage for more than {budget_s:.0f} s ({cause}); "
            "stopped without committing: start the pipeline again once it is back, it "
            "resumes where it stopped"
        )


def stage(
    name: str,
    fn: Callable[P, R],
    *,
    attempts: int = 1,
    outage_budget_s: float | None = None,
    retry: Retry = OUTAGE_BACKOFF,
) -> Callable[P, R]:
    """Wrap a pipeline step so its failures name the stage and follow the DLQ rules.

    Ordinary errors are retried up to ``attempts`` times, then raised as
    ``StageFailed`` (dead-lettered). Outages are retried, waiting ``retry.delay``,
    for up to ``outage_budget_s`` (the process's ``WAITING_OUT.budget_s`` by default, below
    Kafka's max poll interval), then raised as ``OutageOutlasted``, which stops the
    pipeline instead of dead-lettering a good message.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        attempt, retries, outage_started = 0, 0, None
        budget_s = WAITING_OUT.budget_s if outage_budget_s is None else outage_budget_s
        while True:
            try:
                result = fn(*args, **kwargs)
            except OUTAGES as exc:
                now = time.monotonic()
                if outage_started is None:  # one line when it starts, not one per retry
                    outage_started = now
                    WAITING_OUT.started(f"stage={name}")
                    logger.warning("stage=%s outage: %s; retrying with backoff for up to "
                                   "%.0f s", name, exc, budget_s)  # fmt: skip
                if now - outage_started > budget_s:
                    WAITING_OUT.ended(f"stage={name}")  # given up: the pipeline stops
                    raise OutageOutlasted(name, budget_s, exc) from exc
                retry.sleep(retry.delay(retries))
                retries += 1
                continue
            except Exception as exc:
                attempt += 1
                if attempt >= attempts:
                    raise StageFailed(name, attempt) from exc
                logger.info("stage=%s attempt=%d failed, retrying: %s", name, attempt, exc)
                continue
            if outage_started is not None:
                WAITING_OUT.ended(f"stage={name}")
                logger.warning("stage=%s recovered after %.0f s (%d retries)", name,
                               time.monotonic() - outage_started, retries)  # fmt: skip
            return result

    return run


def _is_outage(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OUTAGES):
            return True
        cause = cause.__cause__
    return False


class FailedElsewhere(Exception):
    """A failure met in another part of the pipeline (e.g. the feedback batcher) and
    dead-lettered by the step that holds the message: it carries the original error's
    "Type: message" and details, so the dead letter reads as if it failed here."""

    def __init__(self, error: str, details: dict[str, str]) -> None:
        super().__init__(error)
        self.error, self.details = error, details


def describe_failure(exc: BaseException) -> tuple[str, dict[str, str]]:
    """ "Type: message" of the root cause of a stage failure, and its extra details."""
    root = exc.__cause__ if isinstance(exc, StageFailed) and exc.__cause__ else exc
    while root.__cause__ is not None and type(root).__name__ == "SerializationError":
        root = root.__cause__
    if isinstance(root, FailedElsewhere):
        return root.error, dict(root.details)
    details = {
        attr: str(getattr(root, attr))
        for attr in ("raw", "reason")
        if getattr(root, attr, None) is not None
    }
    return f"{type(root).__name__}: {root}", details


def _describe(exc: BaseException) -> tuple[str, str, dict[str, str]]:
    """(stage, "Type: message" of the root cause, extra details) for the headers."""
    stage_name = exc.stage if isinstance(exc, StageFailed) else "process"
    return stage_name, *describe_failure(exc)


class DeadLetters:
    """The DLQ of one pipeline, wired into Quix's consumer and processing error callbacks."""

    def __init__(
        self,
        pipeline: str,
        topic: str,
        client_config: dict[str, Any],
        *,
        flush_timeout_s: float = 30.0,
    ) -> None:
        self.pipeline, self.topic = pipeline, topic
        self._client_config = client_config
        self._flush_timeout_s = flush_timeout_s
        self._producer: Producer | None = None
        self.sent = 0

    def on_consumer_error(self, exc: Exception, message: Any, _logger: logging.Logger) -> bool:
        """Undecodable or invalid messages (raised by the deserializer) are dead-lettered."""
        if message is None or message.error() is not None or _is_outage(exc):
            return False  # a Kafka-level error, not a bad message: let Quix handle it
        _, error, details = _describe(exc)
        self.send(
            key=message.key(),
            value=message.value(),
            headers=message.headers(),
            error=error,
            stage=DECODE_STAGE,
            source=(message.topic(), message.partition(), message.offset()),
            details=details,
        )
        return True

    def on_processing_error(self, exc: Exception, row: Row | None, _logger: logging.Logger) -> bool:
        """A stage that failed for good: dead-letter the message that triggered it."""
        if row is None or _is_outage(exc):
            return False
        stage_name, error, details = _describe(exc)
        raw = row.value if isinstance(row.value, bytes) else original_bytes(row.value)
        if raw is None and row.value is not None:  # a tombstone stays a tombstone
            raw, details["value-reencoded"] = encode_json(row.value), "true"
        self.send(
            key=row.key if isinstance(row.key, bytes | None) else str(row.key).encode(),
            value=raw,
            headers=row.headers,
            error=error,
            stage=stage_name,
            source=(row.topic, row.partition, row.offset),
            details=details,
        )
        return True

    def send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Any,
        error: str,
        stage: str,
        source: tuple[str, int, int],
        details: dict[str, str] | None = None,
    ) -> None:
        """Write one dead letter and wait until the broker has it.

        A message that went through a repartition carries its origin in its headers
        (``origin.py``): the dead letter gets that original key and source instead of
        the repartition topic's.
        """
        origin, headers = split_origin(headers)
        if origin is not None:
            key, source = origin.key, (origin.topic, origin.partition, origin.offset)
        topic, partition, offset = source
        ours = {
            "error": error,
            "stage": stage,
            "pipeline": self.pipeline,
            "source.topic": topic,
            "source.partition": str(partition),
            "source.offset": str(offset),
            "failed.at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **{f"detail.{k}": v for k, v in (details or {}).items()},
        }
        all_headers = [
            *(headers or []),
            *((HEADER_PREFIX + k, v.encode()) for k, v in ours.items()),
        ]
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        producer = self._get_producer()
        producer.produce(
            self.topic, value=value, key=key, headers=all_headers, on_delivery=delivered
        )
        remaining = producer.flush(self._flush_timeout_s)
        if remaining or failures:
            msg = f"could not write to {self.topic}: {failures or 'flush timed out'}"
            raise ConnectionError(msg)
        self.sent += 1
        logger.warning(
            "dead-lettered pipeline=%s stage=%s source=%s[%s]@%s error=%s",
            self.pipeline, stage, topic, partition, offset, error,
        )  # fmt: skip

    def _get_producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer({**self._client_config, "enable.idempotence": True})
        return self._producer
