"""The Kafka ACLs each client of streamwise needs, as ``kafka-acls`` command lines.

Pure: rules come from the access declarations (``access.py``) and the deployment's
topic prefix and processing guarantee; ``streamwise acls`` prints them. Read topics get
Read, written ones Write, both Describe and DescribeConfigs (Quix checks each topic's
configuration at start). A pipeline may create only its own internal topics, never a
contract topic: those come from an operator (``streamwise topics``), so a principal of
ours can never make a topic in the wrong shape.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pipelines.common.access import (
    DASHBOARD_ACCESS,
    DASHBOARD_GROUP_PREFIX,
    PIPELINE_ACCESS,
    SERVE_ACCESS,
    Access,
    internal_topic_prefixes,
    pipeline_topics,
    transactional_id_prefix,
)
from pipelines.common.clients import pipeline_group
from pipelines.common.topics import dlq_name

Resource = Literal["topic", "group", "transactional-id"]
READ = ("Read", "Describe", "DescribeConfigs")
WRITE = ("Write", "Describe", "DescribeConfigs")
INTERNAL = ("Create", "Read", "Write", "Describe", "DescribeConfigs")
DEFAULT_PRINCIPAL = "User:streamwise-{client}"
DEFAULT_DLQ_READER = "User:streamwise-dlq-reader"
DLQ_READER_GROUP = "streamwise-dlq-reader"
"""The consumer group (behind the topic prefix) the dead-letter reader may read in."""
COMMAND = (
    'kafka-acls.sh --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$KAFKA_ADMIN_CONFIG"'
)
"""Every printed line starts so: the operator's bootstrap servers and admin client settings."""

CLIENTS = (*PIPELINE_ACCESS, "serve", "dashboard")


@dataclass(frozen=True)
class AclRule:
    """Allow ``principal`` the ``operations`` on resources ``names`` (prefixes if ``prefixed``)."""

    principal: str
    operations: tuple[str, ...]
    resource: Resource
    names: tuple[str, ...]
    prefixed: bool = False

    def arguments(self) -> list[str]:
        """The ``kafka-acls`` arguments that add this rule."""
        args = ["--add", "--allow-principal", self.principal]
        if self.prefixed:
            args += ["--resource-pattern-type", "prefixed"]
        args += [arg for operation in self.operations for arg in ("--operation", operation)]
        return args + [arg for name in self.names for arg in (f"--{self.resource}", name)]


@dataclass(frozen=True)
class ClientAcls:
    """The rules of one client and a comment line that says what they amount to."""

    client: str
    summary: str
    rules: tuple[AclRule, ...]


def _topic_rules(principal: str, access: Access, prefix: str, dlq: str | None) -> list[AclRule]:
    reads = tuple(prefix + name for name in access.reads)
    writes = tuple(prefix + name for name in access.writes) + ((prefix + dlq,) if dlq else ())
    rules = [AclRule(principal, READ, "topic", reads)] if reads else []
    return rules + ([AclRule(principal, WRITE, "topic", writes)] if writes else [])


def pipeline_acls(
    pipeline: str,
    *,
    topic_prefix: str,
    exactly_once: bool,
    principal: str,
    dlq_reader: str,
    external_reads: tuple[str, ...] = (),
) -> ClientAcls:
    """What ``pipeline``'s principal needs, and who else may read its dead letters.

    ``external_reads`` are topics other tools write, named as they are (``run cdc``
    reads a connector's topics, which the deployment's topic prefix does not name).
    """
    group = pipeline_group(pipeline, topic_prefix)
    dlq = dlq_name(pipeline)
    rules = _topic_rules(principal, PIPELINE_ACCESS[pipeline], topic_prefix, dlq)
    if external_reads:
        rules.append(AclRule(principal, READ, "topic", external_reads))
    rules += [
        AclRule(principal, ("Read", "Describe"), "group", (group,)),
        AclRule(principal, INTERNAL, "topic", internal_topic_prefixes(group), prefixed=True),
    ]
    if exactly_once:
        txn = (transactional_id_prefix(group),)
        rules.append(AclRule(principal, ("Write", "Describe"), "transactional-id", txn, True))
    # The dead letters keep the original, unmasked bytes: only their reader sees them.
    reader_group = (topic_prefix + DLQ_READER_GROUP,)
    rules += [
        AclRule(dlq_reader, ("Read", "Describe"), "topic", (topic_prefix + dlq,)),
        AclRule(dlq_reader, ("Read", "Describe"), "group", reader_group),
    ]
    topics = ", ".join([*(topic_prefix + name for name in pipeline_topics(pipeline)),
                        *external_reads])  # fmt: skip
    summary = (
        f"{pipeline} as {principal}: group {group}; topics {topics}; its internal topics"
        f"{'; transactional ids ' + txn[0] + '*' if exactly_once else ''}"
        f"; {dlq_reader} reads {topic_prefix + dlq} in group {reader_group[0]}"
    )
    return ClientAcls(pipeline, summary, tuple(rules))


def serve_acls(*, topic_prefix: str, principal: str) -> ClientAcls:
    rules = _topic_rules(principal, SERVE_ACCESS, topic_prefix, dlq=None)
    summary = f"serve and ask as {principal}: write {topic_prefix}questions, read answers"
    return ClientAcls("serve", summary, tuple(rules))


def dashboard_acls(*, topic_prefix: str, principal: str) -> ClientAcls:
    group = topic_prefix + DASHBOARD_GROUP_PREFIX
    rules = _topic_rules(principal, DASHBOARD_ACCESS, topic_prefix, dlq=None)
    rules.append(AclRule(principal, ("Read", "Describe"), "group", (group,), prefixed=True))
    summary = f"dashboard as {principal}: the operations console, in groups {group}*"
    return ClientAcls("dashboard", summary, tuple(rules))


def client_acls(
    client: str,
    *,
    topic_prefix: str,
    exactly_once: bool,
    principal: str,
    dlq_reader: str,
    external_reads: tuple[str, ...] = (),
) -> ClientAcls:
    """The ACLs of ``client``: a pipeline, ``serve`` or ``dashboard``."""
    if client == "serve":
        return serve_acls(topic_prefix=topic_prefix, principal=principal)
    if client == "dashboard":
        return dashboard_acls(topic_prefix=topic_prefix, principal=principal)
    return pipeline_acls(
        client, topic_prefix=topic_prefix, exactly_once=exactly_once, principal=principal,
        dlq_reader=dlq_reader, external_reads=external_reads,
    )  # fmt: skip


def render(acls: Iterable[ClientAcls]) -> str:
    """A shell script: a comment per client, then one ``kafka-acls.sh`` line per rule."""
    lines = []
    for client in acls:
        lines.append(f"# {client.summary}")
        lines += [f"{COMMAND} {shlex.join(rule.arguments())}" for rule in client.rules]
    return "\n".join(lines) + "\n"
