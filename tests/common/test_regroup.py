"""A re-keyed message whose event time is ahead of the clock still goes through.

``PipelineApp.regroup`` writes each message to an internal topic with its event time as
the timestamp; Kafka 4 rejects timestamps more than an hour in the future, so one
producer's wrong clock would stop every pipeline that re-keys (feedback, rag, quality).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.common.app import make_app
from pipelines.common.events import Question
from pipelines.common.settings import StreamwiseSettings
from tests.kafkaio import produce, read


def test_a_question_two_hours_ahead_is_re_keyed_not_refused(settings: StreamwiseSettings) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=2)
    produce(settings, "questions", [
        ("q-ahead", {"question_id": "q-ahead", "text": "Is my card blocked?",
                     "ts": ahead.isoformat(), "customer_id": "cust-1"}),
    ])  # fmt: skip
    papp = make_app("rag", settings)
    seen: list[tuple[Any, int]] = []
    asked = papp.app.dataframe(papp.topic("questions")).apply(Question.to_json_dict)
    papp.regroup(asked, lambda q: q["customer_id"], name="customer_id").update(
        lambda value, key, timestamp_ms, headers: seen.append((key, timestamp_ms)), metadata=True
    )
    papp.app.run(timeout=5)
    assert [key for key, _ in seen] == ["cust-1"]
    assert seen[0][1] <= int(datetime.now(UTC).timestamp() * 1000)  # capped at the clock
    assert read(settings, "rag-dlq", timeout_s=2) == []
