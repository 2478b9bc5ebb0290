"""The ACLs ``streamwise acls`` prints follow from the access declarations, one rule per need."""

from __future__ import annotations

import shlex

from pipelines.common.access import DASHBOARD_ACCESS, PIPELINE_ACCESS, pipeline_topics
from pipelines.common.acls import COMMAND, client_acls, render
from pipelines.common.topics import PIPELINES, REGISTRY
from pipelines.console import classifier_view, feedback_view, fraud_view, knowledge_view


def test_every_pipeline_declares_registry_topics_only() -> None:
    assert set(PIPELINE_ACCESS) == set(PIPELINES)
    for pipeline in PIPELINES:
        assert set(pipeline_topics(pipeline)) <= set(REGISTRY)


def test_the_dashboard_reads_the_topics_its_view_shows() -> None:
    shown = {
        feedback_view.INSIGHTS, feedback_view.ALERTS, feedback_view.ENRICHED,
        classifier_view.CLASSIFIER, classifier_view.LABELS,
        fraud_view.TRIAGED, fraud_view.VERDICTS, fraud_view.QUALITY,
        knowledge_view.KPIS, knowledge_view.KB_CHANGES, knowledge_view.ANSWERS,
    }  # fmt: skip
    assert set(DASHBOARD_ACCESS.reads) == shown
    assert set(DASHBOARD_ACCESS.writes) == {fraud_view.VERDICTS, classifier_view.LABELS}


def _granted(client: str, *, exactly_once: bool) -> set[tuple[str, str, str, str]]:
    """(principal, operation, resource, pattern:name) of every rule, from the printed lines."""
    acls = client_acls(client, topic_prefix="p.", exactly_once=exactly_once,
                       principal=f"User:{client}", dlq_reader="User:reader")  # fmt: skip
    granted = set()
    for line in render([acls]).splitlines():
        if line.startswith("#"):
            continue
        assert line.startswith(COMMAND)
        args = shlex.split(line.removeprefix(COMMAND))
        principal = args[args.index("--allow-principal") + 1]
        pattern = "prefixed" if "--resource-pattern-type" in args else "literal"
        operations = [args[i + 1] for i, a in enumerate(args) if a == "--operation"]
        resources = [(a[2:], args[i + 1]) for i, a in enumerate(args)
                     if a in {"--topic", "--group", "--transactional-id"}]  # fmt: skip
        granted |= {(principal, op, kind, f"{pattern}:{name}")
                    for op in operations for kind, name in resources}  # fmt: skip
    return granted


def test_a_pipeline_reads_its_inputs_writes_its_outputs_and_may_not_read_its_dead_letters() -> None:
    granted = _granted("fraud", exactly_once=False)
    me = "User:fraud"
    assert (me, "Read", "topic", "literal:p.transactions") in granted
    assert (me, "Read", "topic", "literal:p.customers") in granted
    assert (me, "Write", "topic", "literal:p.fraud-alerts") in granted
    assert (me, "Write", "topic", "literal:p.fraud-dlq") in granted
    assert (me, "Read", "topic", "literal:p.fraud-dlq") not in granted
    assert (me, "Write", "topic", "literal:p.transactions") not in granted
    assert (me, "Read", "group", "literal:p.streamwise-fraud") in granted
    assert (me, "Create", "topic", "prefixed:changelog__p.streamwise-fraud--") in granted
    assert (me, "Create", "topic", "prefixed:repartition__p.streamwise-fraud--") in granted
    assert not any(op == "Create" and name.startswith("literal:") for _, op, _, name in granted)
    assert ("User:reader", "Read", "topic", "literal:p.fraud-dlq") in granted
    assert not any(kind == "transactional-id" for _, _, kind, _ in granted)


def test_exactly_once_adds_the_transactional_ids_of_the_group_and_nothing_else() -> None:
    added = _granted("rag", exactly_once=True) - _granted("rag", exactly_once=False)
    assert added == {
        ("User:rag", "Write", "transactional-id", "prefixed:p.streamwise-rag-"),
        ("User:rag", "Describe", "transactional-id", "prefixed:p.streamwise-rag-"),
    }


def test_serve_writes_questions_and_ratings_and_reads_answers_without_a_group() -> None:
    granted = _granted("serve", exactly_once=False)
    assert {(op, name) for _, op, _, name in granted} == {
        ("Write", "literal:p.questions"), ("Describe", "literal:p.questions"),
        ("DescribeConfigs", "literal:p.questions"),
        ("Read", "literal:p.answers"), ("Describe", "literal:p.answers"),
        ("DescribeConfigs", "literal:p.answers"),
        ("Write", "literal:p.answer-ratings"), ("Describe", "literal:p.answer-ratings"),
        ("DescribeConfigs", "literal:p.answer-ratings"),
    }  # fmt: skip


def test_cdc_reads_the_connector_topics_as_they_are_named() -> None:
    acls = client_acls(
        "cdc", topic_prefix="p.", exactly_once=False, principal="User:cdc",
        dlq_reader="User:reader", external_reads=("shop.public.customers",),
    )  # fmt: skip
    lines = render([acls]).splitlines()
    [read] = [line for line in lines if "--topic shop.public.customers" in line]
    assert "--operation Read" in read
    assert "--operation Write" not in read
    assert any("--operation Write" in line and "--topic p.customers" in line for line in lines)
