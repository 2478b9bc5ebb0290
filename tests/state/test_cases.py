"""Fraud cases with their verdicts, on real Chroma (embedded and server)."""

from __future__ import annotations

from chromadb.api import ClientAPI

from state.cases import Case, CaseFile
from tests.state.records import between, open_collection, unit


def case_file(client: ClientAPI, name: str) -> CaseFile:
    cases = CaseFile(open_collection(client, name))
    cases.remember("a1", unit(1), "velocity, severity medium", {"rule": "velocity", "ts_ms": 1_000})
    return cases


def test_a_similar_case_comes_with_its_latest_verdict(
    client: ClientAPI, collection_name: str
) -> None:
    cases = case_file(client, collection_name)
    cases.judge("a1", "legitimate", 5_000)
    cases.judge("a1", "fraud", 9_000)  # the analyst changed their mind
    cases.judge("a1", "legitimate", 7_000)  # an older verdict, delivered late

    found = cases.similar(between(1, 2), before_ms=2_000, k=3, exclude="a2")

    assert found == [Case("a1", "fraud")]


def test_a_verdict_before_its_case_is_never_recalled_and_the_case_takes_it_over(
    client: ClientAPI, collection_name: str
) -> None:
    cases = case_file(client, collection_name)
    cases.judge("a2", "fraud", 9_000)  # a2 not triaged yet

    assert cases.similar(unit(0), before_ms=99_000, k=3, exclude="x") == [Case("a1", None)]

    cases.remember("a2", unit(2), "velocity, severity high", {"rule": "velocity", "ts_ms": 2_000})
    found = cases.similar(unit(2), before_ms=99_000, k=3, exclude="x")
    assert found == [Case("a2", "fraud"), Case("a1", None)]


def test_a_redelivered_alert_keeps_the_verdict_of_its_case(
    client: ClientAPI, collection_name: str
) -> None:
    cases = case_file(client, collection_name)
    cases.judge("a1", "fraud", 5_000)
    cases.remember("a1", unit(1), "velocity, severity medium", {"rule": "velocity", "ts_ms": 1_000})

    assert cases.similar(unit(1), before_ms=2_000, k=1, exclude="x") == [Case("a1", "fraud")]
