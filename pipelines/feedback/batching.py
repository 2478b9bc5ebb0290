r"""Micro-batched analysis: items that miss the cache are analyzed many at a time.

text topic --> enrich step (state: cache, in-flight count) --hit--> enriched
                    ^                  \--miss--> AnalysisBatcher (a sink)
                    |                                 | analyze_many, per-item check
                    \---- answer records (same topic, partition, key, bytes) ----/

Why this shape. Quix hands a step one message at a time and has no batching of its
own; the model is only fast on batches. A *sink* is the one place Quix lets a pipeline
hold messages across calls with a promise about when they are let go: ``flush()`` runs
first in every checkpoint commit, before the changelogs, the producer flush and the
offset commit. So the cache stays a stateful step (state is only writable there), the
misses go to ``AnalysisBatcher``, and its answers come back *through the text topic
itself*: each answer record is the item's original bytes and headers, produced to the
partition and under the key the item was read with, plus internal headers holding the
analysis (or why there is none). The same step then reads it, caches the analysis and
emits the enriched item: the cache write, the output and the dead letter of a failed
item all stay where they were, in the step, against the item's own state key.

A batch is analyzed when it reaches ``max_items``, when an item arrives after its
oldest has waited ``max_wait_s``, and at every checkpoint commit (the pipeline commits
every ``FEEDBACK_BATCH_WAIT_MS``, so a lone item waits no longer than that): a backlog
runs at batch speed, a trickle keeps its latency.

What stays true:

* At-least-once: answers are produced (and flushed) before the offsets of the items
  they answer are committed; a crash in between analyzes those items again.
* Exactly-once: answers go through the application's own producer, so they belong to
  the checkpoint's transaction and vanish with it if it aborts; readers of the text
  topic only see committed answers.
* One bad item never fails its batch-mates: if the batch call fails, or an answer
  breaks the schema, each such item is analyzed and checked alone (with the step's
  retries); an item still failing gets an answer record naming the error, and the step
  dead-letters it with its original bytes. An outage is retried within the outage
  budget and then stops the pipeline, as in every stage.
* Order per text: while an item of a text is in flight, later items of that text go
  through the batcher too (a cached analysis rides along without a model call), so
  they leave in the order they came.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from quixstreams.models import HeadersTuples
from quixstreams.sinks import BaseSink

from models import JsonObject, ModelOutputInvalid
from pipelines.common.dlq import FailedElsewhere, StageFailed, describe_failure, stage
from pipelines.common.origin import INTERNAL_PREFIX, Headers
from pipelines.common.serialization import encode_json, original_bytes
from pipelines.feedback.analyzers.base import Analysis, Analyzer

ANALYSIS_HEADER = INTERNAL_PREFIX + "analysis"
VECTOR_HEADER = INTERNAL_PREFIX + "vector"
FAILURE_HEADER = INTERNAL_PREFIX + "analysis-failed"

RECENT_ANSWERS = 1024
"""Analyses the batcher remembers (in memory, by text) for copies already on their way."""

Produce = Callable[[str, int, bytes | None, bytes | None, Headers, int], None]
"""(topic, partition, key, value, headers, timestamp): a record in the open checkpoint."""


class AnalysisFailed(FailedElsewhere):
    """The batcher could not analyze an item (after its retries): a dead letter naming
    the analyzer's own error."""

    def to_header(self) -> bytes:
        return orjson.dumps({"error": self.error, "details": self.details})

    @classmethod
    def from_header(cls, raw: bytes) -> AnalysisFailed:
        found = orjson.loads(raw)
        return cls(str(found["error"]), {k: str(v) for k, v in found["details"].items()})


Answer = Analysis | AnalysisFailed
"""What the batcher says about one text."""

Asked = tuple[str, str]
"""(analyzer identity, text): one question to the model."""


@dataclass(frozen=True)
class Pending:
    """An item on its way to the batcher: its masked text, the identity of the analyzer
    version to analyze it (``analyzers/versions.py``), and the cached analysis if it only
    waits for an earlier item of the same text to leave first."""

    text: str
    raw: bytes
    identity: str
    cached: Analysis | None = None


def answer_headers(headers: Sequence[tuple[str, bytes]], answer: Answer) -> Headers:
    """``headers`` with an analysis (or why there is none) in place of any earlier one."""
    kept = [(name, value) for name, value in headers if not name.startswith(INTERNAL_PREFIX)]
    if isinstance(answer, AnalysisFailed):
        return [*kept, (FAILURE_HEADER, answer.to_header())]
    added = [(ANALYSIS_HEADER, orjson.dumps(answer.to_json()))]
    if answer.vector is not None:
        added.append((VECTOR_HEADER, np.asarray(answer.vector, dtype=np.float32).tobytes()))
    return [*kept, *added]


def read_answer(headers: Sequence[tuple[str, bytes]] | None) -> Answer | None:
    """The answer a record carries; None if it is an item as it first arrived."""
    found = dict(headers or [])
    if FAILURE_HEADER in found:
        return AnalysisFailed.from_header(found[FAILURE_HEADER])
    if ANALYSIS_HEADER not in found:
        return None
    analysis = Analysis.from_json(orjson.loads(found[ANALYSIS_HEADER]))
    if VECTOR_HEADER not in found:
        return analysis
    vector = np.frombuffer(found[VECTOR_HEADER], dtype=np.float32)
    return dataclasses.replace(analysis, vector=tuple(float(x) for x in vector))


@dataclass(frozen=True)
class _Waiting:
    item: Pending
    key: bytes | None
    timestamp: int
    headers: Headers
    topic: str
    partition: int
    since: float


class AnalysisBatcher(BaseSink):
    """Collects the items that missed the cache; analyzes and answers them in batches,
    one batch call per analyzer version among them (a refit's first moments)."""

    def __init__(
        self,
        analyzers: Callable[[str], Analyzer],
        check: Callable[[JsonObject], None],
        produce: Produce,
        *,
        max_items: int,
        max_wait_s: float,
        attempts: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._analyzers, self._check, self._produce = analyzers, check, produce
        self._max_items, self._max_wait_s, self._clock = max_items, max_wait_s, clock
        self._attempts = attempts
        self._waiting: list[_Waiting] = []
        self._recent: OrderedDict[Asked, Analysis] = OrderedDict()

    def add(  # noqa: PLR0917 - Quix's own signature
        self,
        value: Pending,
        key: object,
        timestamp: int,
        headers: HeadersTuples,
        topic: str,
        partition: int,
        offset: int,  # the answer gets an offset of its own
    ) -> None:
        raw_key = key if isinstance(key, bytes | None) else str(key).encode()
        now = self._clock()
        self._waiting.append(
            _Waiting(value, raw_key, timestamp, _as_bytes(headers), topic, partition, now)
        )
        full = len(self._waiting) >= self._max_items
        if full or now - self._waiting[0].since >= self._max_wait_s:
            self.flush()

    def flush(self) -> None:
        """Analyze everything waiting and produce its answers, in arrival order."""
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        needed = dict.fromkeys(_asked(w.item) for w in waiting if w.item.cached is None)
        recent = self._recent
        answers: dict[Asked, Answer] = {a: recent[a] for a in needed if a in recent}
        for identity in dict.fromkeys(identity for identity, _ in needed):
            todo = [text for version, text in needed
                    if version == identity and (version, text) not in answers]  # fmt: skip
            got = self._answers(self._analyzers(identity), todo)
            answers.update(zip([(identity, text) for text in todo], got, strict=True))
        self._remember(answers)
        for w in waiting:
            answer = w.item.cached or answers[_asked(w.item)]
            self._produce(w.topic, w.partition, w.key, w.item.raw,
                          answer_headers(w.headers, answer), w.timestamp)  # fmt: skip

    def _remember(self, answers: dict[Asked, Answer]) -> None:
        """Keep the latest analyses: a copy of a text sent while the first copy's answer
        was on its way (a miss too) then needs no model call of its own."""
        for asked, answer in answers.items():
            if isinstance(answer, Analysis):
                self._recent[asked] = answer
                self._recent.move_to_end(asked)
        while len(self._recent) > RECENT_ANSWERS:
            self._recent.popitem(last=False)

    def on_paused(self) -> None:
        """The checkpoint is dropped: its items are read again, so forget them here."""
        self._waiting.clear()

    def _answers(self, analyzer: Analyzer, texts: list[str]) -> list[Answer]:
        """One batch call; each answer checked on its own. The batch call is every text's
        first attempt: an answer breaking the schema is retried alone, and if the call
        itself fails (which text spoiled it is unknown) every text is, at least once, so
        that no good text is dead-lettered for a batch-mate's fault."""
        if not texts:
            return []
        try:
            analyses = stage("analyze", analyzer.analyze_many)(texts)
        except StageFailed:
            retries = max(1, self._attempts - 1)
            return [self._answer_alone(analyzer, text, retries, before=1) for text in texts]
        return [self._checked(analyzer, text, analysis)
                for text, analysis in zip(texts, analyses, strict=True)]  # fmt: skip

    def _checked(self, analyzer: Analyzer, text: str, analysis: Analysis) -> Answer:
        try:
            self._check(analysis.to_json())
        except ModelOutputInvalid as exc:
            if self._attempts == 1:
                return _failure(exc, attempts=1)
            return self._answer_alone(analyzer, text, self._attempts - 1, before=1)
        return analysis

    def _answer_alone(
        self, analyzer: Analyzer, text: str, attempts: int, *, before: int = 0
    ) -> Answer:
        def checked_one(text: str) -> Analysis:
            analysis = analyzer.analyze(text)
            self._check(analysis.to_json())
            return analysis

        try:
            return stage("analyze", checked_one, attempts=attempts)(text)
        except StageFailed as exc:
            return _failure(exc, attempts=before + exc.attempts)


def _failure(exc: Exception, *, attempts: int) -> AnalysisFailed:
    error, details = describe_failure(exc)
    return AnalysisFailed(error, {**details, "attempts": str(attempts)})


def _as_bytes(headers: HeadersTuples | None) -> Headers:
    return [(name, v.encode() if isinstance(v, str) else v) for name, v in headers or []]


def pending(event: object, text: str, identity: str, cached: Analysis | None = None) -> Pending:
    """The batcher's item: ``event``'s original bytes (re-encoded only if it was not read)."""
    raw = original_bytes(event)
    return Pending(text, raw if raw is not None else encode_json(event), identity, cached)


def _asked(item: Pending) -> Asked:
    return item.identity, item.text
