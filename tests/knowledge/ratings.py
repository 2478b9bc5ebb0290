"""Answers and ratings for the KPI tests, as their producers send them, and the hand-counted
scenario both the unit test and the broker test replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def answer(question_id: str, status: str, latency_ms: float, *docs: str) -> dict[str, Any]:
    """A valid ``answers`` value citing ``docs`` (version 1, one chunk each)."""
    return {
        "question_id": question_id, "answer": f"answer to {question_id}",
        "citations": [{"doc_id": d, "version": 1, "chunk_id": f"{d}:1:0"} for d in docs],
        "index_version": 3, "model": "test-model", "latency_ms": latency_ms, "status": status,
    }  # fmt: skip


def rating(question_id: str, value: str, ts: datetime, **extra: Any) -> dict[str, Any]:
    """A valid ``answer-ratings`` value."""
    return {"question_id": question_id, "rating": value, "ts": ts.isoformat(), **extra}


MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

FIRST_HOUR = [  # answered in the first hour of the scenario, minutes after its start
    (10, answer("q1", "ok", 100, "refund", "warranty")),
    (12, answer("q2", "ok", 300, "refund")),
    (14, answer("q3", "no_context", 50)),
    (16, answer("q4", "ok", 200, "shipping")),
]
SECOND_HOUR = [(10, answer("q5", "ok", 400, "warranty"))]


def ratings(start: datetime) -> list[dict[str, Any]]:
    """The scenario's ratings for hours starting at ``start``, in the order they are sent."""
    return [
        rating("q1", "down", start + 20 * MINUTE, comment="wrong refund period"),
        rating("q2", "down", start + 21 * MINUTE),
        rating("q2", "down", start + 22 * MINUTE),  # a repeat: counts once
        rating("q3", "up", start + 23 * MINUTE),
        rating("q4", "down", start + 24 * MINUTE),
        rating("q4", "up", start + 25 * MINUTE),  # changed: counts once, as up
        rating("q5", "down", start + HOUR + 5 * MINUTE),  # before its answer: waits for it
    ]


FIRST_HOUR_KPIS = {
    "answers": 4, "status_counts": {"no_context": 1, "ok": 3}, "rated": 4, "satisfaction": 0.5,
    "latency_p50_ms": 100.0, "latency_p95_ms": 300.0,  # nearest rank of 50, 100, 200, 300
    "low_rated_docs": [{"doc_id": "refund", "down_answers": 2},
                       {"doc_id": "warranty", "down_answers": 1}],
}  # fmt: skip
"""q1 and q2 down (refund twice, warranty once), q3 and q4 up."""
SECOND_HOUR_KPIS = {
    "answers": 1, "status_counts": {"ok": 1}, "rated": 1, "satisfaction": 0.0,
    "latency_p50_ms": 400.0, "latency_p95_ms": 400.0,
    "low_rated_docs": [{"doc_id": "warranty", "down_answers": 1}],
}  # fmt: skip
