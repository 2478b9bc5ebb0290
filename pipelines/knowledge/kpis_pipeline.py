r"""Answer KPIs: users' ratings joined to the answers they rate, per window of answer time.

answers        -(question_id)-\
                               +-> join (stateful per question id) -(window start)-> tally
answer-ratings -(question_id)-/                         (stateful per window) --> answer-kpis
undecodable / invalid / failing --> answer-kpis-dlq

One stateful step over both streams, as ``fraud/quality_pipeline.py`` does and for its
reasons: a rating before its answer waits in the question's state, a changed rating
replaces the one counted, a repeated one changes nothing. Both streams are re-keyed by
question id although the contract keys them so: ``serve`` produces ratings with
librdkafka's partitioner, the RAG pipeline answers with Quix's, so the same key may
land on different partitions. The join keeps its state ``KNOWLEDGE_RATING_TTL``.

Contributions are re-keyed by window start for the counts; a window's record comes
again each time one of its answers is rated (``kpis.py`` says why answer time).
"""

from __future__ import annotations

from typing import Any

from quixstreams.state import State

from pipelines.common.app import PipelineApp, make_app
from pipelines.common.dlq import stage
from pipelines.common.epoch import duration_ms
from pipelines.common.events import Answer, AnswerKpis, AnswerRating
from pipelines.common.serialization import JsonSerializer
from pipelines.common.settings import StreamwiseSettings, load_settings
from pipelines.knowledge.kpis import Contribution, RatingJoin, tally
from pipelines.knowledge.settings import KpiSettings
from state.answers import QuestionStore, WindowStore


class KpiCounter:
    """The join and the counts bound to settings; one instance per pipeline.

    A window's counts can change while a rating can still join one of its answers: the
    TTL after its end. They are kept that long after their last change.
    """

    def __init__(self, settings: KpiSettings) -> None:
        self._join = RatingJoin(
            ttl_ms=duration_ms(settings.rating_ttl), window_ms=duration_ms(settings.kpi_window)
        )
        self._case_ttl = settings.rating_ttl
        self._window_ttl = settings.rating_ttl + settings.kpi_window
        self._top_docs = settings.low_rated_docs

    def join(
        self, event: Answer | AnswerRating, key: Any, timestamp_ms: int, headers: Any,
        state: State[str, Any],
    ) -> Contribution | None:  # fmt: skip
        """An answer's time is its record's timestamp (when it was answered), capped at now."""
        return self._join.join(event, timestamp_ms, QuestionStore(state, self._case_ttl))

    def tally(self, contribution: dict[str, Any], state: State[str, Any]) -> AnswerKpis | None:
        return tally(Contribution(**contribution), WindowStore(state, self._window_ttl),
                     self._top_docs)  # fmt: skip


def _question_id(event: Answer | AnswerRating) -> str:
    return event.question_id


def _window_start(contribution: Contribution) -> str:
    return str(contribution.window_start_ms)


def _window_key(record: AnswerKpis) -> str:
    """The key as the value writes ``window_start`` (``...Z``), as ``feedback-insights`` does."""
    return record.to_json_dict()["window_start"]  # type: ignore[no-any-return]


def build(papp: PipelineApp, settings: KpiSettings) -> None:
    """Declare the dataflow on ``papp``; nothing runs until ``papp.run()``."""
    counter = KpiCounter(settings)
    events = papp.rekeyed("answers", Answer, _question_id, "question_id").concat(
        papp.rekeyed("answer-ratings", AnswerRating, _question_id, "question_id")
    )
    contributions = events.apply(stage("join", counter.join), stateful=True, metadata=True).filter(
        lambda contribution: contribution is not None
    )
    by_window = papp.regroup(
        contributions, _window_start, name="window_start",
        key_serializer="str", key_deserializer="str",
        value_serializer=JsonSerializer(), value_deserializer="json",
    )  # fmt: skip
    records = by_window.apply(stage("tally", counter.tally), stateful=True).filter(
        lambda record: record is not None
    )
    papp.publish(records, "answer-kpis", key=_window_key)


def main(settings: StreamwiseSettings) -> None:
    """``streamwise run answer-kpis``."""
    kpi_settings = load_settings(KpiSettings)  # a bad KNOWLEDGE_* setting fails before any client
    papp = make_app("answer-kpis", settings)
    build(papp, kpi_settings)
    papp.run()
