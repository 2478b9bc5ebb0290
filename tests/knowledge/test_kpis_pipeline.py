"""answer-kpis end to end on the real broker: answers, ratings, and the hand-counted KPIs.

The answers are stamped (Kafka timestamp, their time for the windows) in two hours that
ended before now; the ratings carry their time in ``ts``. One rating is sent before its
answer would be read, and the answers of the first hour are sent twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.app import make_app
from pipelines.common.epoch import to_ms
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.kpis_pipeline import build
from pipelines.knowledge.settings import KpiSettings
from tests.kafkaio import Record, produce, read
from tests.knowledge import ratings as scenario
from tests.knowledge.ratings import HOUR

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 3 * HOUR
SETTINGS = KpiSettings(kpi_window=HOUR, rating_ttl=timedelta(days=1))


def latest(records: list[Record], start: datetime) -> dict[str, Any] | None:
    """The last record of the window starting at ``start`` (one key: read in publishing order)."""
    key = start.isoformat().replace("+00:00", "Z").encode()
    found = [r.json() for r in records if r.key == key]
    return found[-1] if found else None


def kpis_of(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: v for k, v in record.items() if k not in ("window_start", "window_end")}


def test_ratings_give_the_hand_computed_kpis_per_window_of_answer_time(
    settings: StreamwiseSettings,
) -> None:
    for hour, answered in ((START, scenario.FIRST_HOUR * 2), (START + HOUR, scenario.SECOND_HOUR)):
        for minutes, raw in answered:
            at = to_ms(hour + minutes * scenario.MINUTE)
            produce(settings, "answers", [(raw["question_id"], raw)], timestamp_ms=at)
    produce(settings, "answer-ratings", [(r["question_id"], r) for r in scenario.ratings(START)])
    papp = make_app("answer-kpis", settings)
    build(papp, SETTINGS)
    papp.app.run(timeout=8)

    def done(records: list[Record]) -> bool:
        return (kpis_of(latest(records, START)), kpis_of(latest(records, START + HOUR))) == (
            scenario.FIRST_HOUR_KPIS,
            scenario.SECOND_HOUR_KPIS,
        )

    records = read(settings, "answer-kpis", until=done, idle_s=1)
    first = latest(records, START)
    assert kpis_of(first) == scenario.FIRST_HOUR_KPIS
    assert kpis_of(latest(records, START + HOUR)) == scenario.SECOND_HOUR_KPIS
    assert first is not None
    assert first["window_end"] == (START + HOUR).isoformat().replace("+00:00", "Z")
    assert read(settings, "answer-kpis-dlq", timeout_s=2) == []
