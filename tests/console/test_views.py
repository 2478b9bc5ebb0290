"""The console's pure views: what each page shows from the records read, no broker."""

from __future__ import annotations

from pipelines.console.classifier_view import CLASSIFIER, LABELS, ClassifierView
from pipelines.console.fraud_view import QUALITY, TRIAGED, VERDICTS, FraudView
from pipelines.console.knowledge_view import ANSWERS, KB_CHANGES, KPIS, KnowledgeView


def triaged(alert_id: str, minute: int) -> dict[str, object]:
    return {"alert_id": alert_id, "rule": "velocity", "ts": f"2026-12-01T10:{minute:02d}:00Z"}


def quality(scope: str, start: str, verdicts: int, confirmed: int) -> dict[str, object]:
    counts = {"alerts": 9, "verdicts": verdicts, "confirmed": confirmed,
              "precision": confirmed / verdicts}  # fmt: skip
    return {"rule": "velocity", "scope": scope, "window_start": start, **counts}


def test_a_verdict_read_before_its_alert_still_shows_and_a_changed_one_replaces_it() -> None:
    view = FraudView()
    view.add(VERDICTS, {"alert_id": "a1", "verdict": "legitimate", "ts": "2026-12-01T11:00:00Z"})
    view.add(TRIAGED, triaged("a1", 1))
    view.add(TRIAGED, triaged("a2", 2))
    view.add(VERDICTS, {"alert_id": "a1", "verdict": "fraud", "ts": "2026-12-01T12:00:00Z"})
    shown = view.summary()
    assert [a["alert_id"] for a in shown["queue"]] == ["a2", "a1"]  # undecided first
    assert shown["queue"][1]["verdict"]["verdict"] == "fraud"
    assert shown["undecided"] == 1


def test_the_queue_keeps_the_newest_alerts_and_a_redelivered_one_once() -> None:
    view = FraudView(alerts=2)
    for alert_id, minute in [("a1", 1), ("a2", 2), ("a2", 2), ("a3", 3)]:
        view.add(TRIAGED, triaged(alert_id, minute))
    assert [a["alert_id"] for a in view.summary()["queue"]] == ["a3", "a2"]


def test_a_re_emitted_window_replaces_its_point_and_cumulative_is_the_latest() -> None:
    view = FraudView()
    view.add(QUALITY, quality("window", "2026-12-01T10:00:00Z", 2, 1))
    view.add(QUALITY, quality("cumulative", "2026-12-01T00:00:00Z", 2, 1))
    view.add(QUALITY, quality("window", "2026-12-01T10:00:00Z", 4, 3))
    view.add(QUALITY, quality("cumulative", "2026-12-01T00:00:00Z", 4, 3))
    [rule] = view.summary()["quality"]
    assert rule["cumulative"]["precision"] == 0.75
    assert [(w["window_start"], w["verdicts"]) for w in rule["windows"]] == [
        ("2026-12-01T10:00:00Z", 4)
    ]


def refit(version: str, ts: str, shipped: bool) -> dict[str, object]:
    return {"version": version, "model": f"m-{version}", "ts": ts, "effective_from": ts,
            "shipped": shipped, "accuracy": 0.8, "head": {"weights": [1, 2]}}  # fmt: skip


def test_the_current_classifier_is_the_latest_shipped_and_a_newer_refit_is_named() -> None:
    view = ClassifierView()
    view.add(CLASSIFIER, refit("v2", "2026-12-01T10:00:00+00:00", True))
    view.add(CLASSIFIER, refit("v3", "2026-12-01T11:00:00Z", False))
    view.add(CLASSIFIER, refit("v1", "2026-12-01T09:00:00Z", True))  # read late: not current
    shown = view.summary()
    assert shown["current"]["version"] == "v2"
    assert "head" not in shown["current"]  # weights, not figures
    assert shown["unshipped"]["version"] == "v3"
    view.add(CLASSIFIER, refit("v4", "2026-12-01T12:00:00Z", True))
    assert (view.summary()["current"]["version"], view.summary()["unshipped"]) == ("v4", None)


def test_a_later_label_of_an_item_replaces_the_earlier() -> None:
    view = ClassifierView()
    view.add(LABELS, {"feedback_id": "f1", "sentiment": "neutral"})
    view.add(LABELS, {"feedback_id": "f1", "sentiment": "negative"})
    assert view.summary()["labels"] == {"f1": {"feedback_id": "f1", "sentiment": "negative"}}


def test_versions_published_against_the_latest_answers_index_version() -> None:
    view = KnowledgeView()
    for doc_id, version in [("a", 1), ("a", 3), ("b", 2), ("a", 2)]:  # a v2 read late: ignored
        view.add(KB_CHANGES, {"doc_id": doc_id, "version": version, "op": "upsert"})
    view.add(ANSWERS, {"question_id": "q", "index_version": 4, "status": "ok"})
    shown = view.summary()
    assert {d["doc_id"]: d["version"] for d in shown["documents"]} == {"a": 3, "b": 2}
    assert shown["published_versions_sum"] == 5
    assert shown["index_caught_up"] is False  # a v3 published, the index answered from v2


def test_the_latest_kpi_window_is_shown_as_published() -> None:
    view = KnowledgeView()
    view.add(KPIS, {"window_start": "2026-12-01T11:00:00Z", "answers": 5})
    view.add(KPIS, {"window_start": "2026-12-01T10:00:00Z", "answers": 3})
    view.add(KPIS, {"window_start": "2026-12-01T11:00:00Z", "answers": 7})  # re-emitted
    shown = view.summary()
    assert shown["latest"] == {"window_start": "2026-12-01T11:00:00Z", "answers": 7}
    assert [w["answers"] for w in shown["windows"]] == [3, 7]
