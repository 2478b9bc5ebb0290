"""Whether the topics on the broker are the ones the registry declares (pure).

A topic that exists with the wrong shape breaks a pipeline in ways that look like
bugs elsewhere: a one-partition ``transactions`` beside a three-partition
``customers`` makes Quix refuse the profile join, and a ``customers`` topic kept
under the ``delete`` policy silently loses card profiles after its retention. Each
mismatch is named here with the fix, for ``streamwise topics --check`` and for a
pipeline that must refuse to start on topics it cannot use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipelines.common.topics import TopicSpec


@dataclass(frozen=True)
class BrokerTopic:
    """What the broker holds for one topic (``None``: the broker did not report it)."""

    partitions: int
    cleanup_policy: str | None = None
    retention_ms: int | None = None


@dataclass(frozen=True)
class Mismatch:
    """One way a topic on the broker differs from the registry, and how to fix it."""

    topic: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.problem}; fix: {self.fix}"


def _policies(policy: str) -> frozenset[str]:
    return frozenset(part.strip() for part in policy.split(",") if part.strip())


def cleanup_mismatch(spec: TopicSpec, actual: BrokerTopic) -> Mismatch | None:
    """The topic's cleanup policy differs from the registry's (absent is Kafka's ``delete``).

    Both directions lose data: ``delete`` where ``compact`` is meant expires profiles and
    documents; ``compact`` where ``delete`` is meant keeps only the last event per key.
    """
    held = actual.cleanup_policy or "delete"
    if _policies(held) == _policies(spec.cleanup_policy):
        return None
    return Mismatch(
        spec.name,
        f"cleanup.policy is {held!r}, the registry says {spec.cleanup_policy!r}",
        f"kafka-configs.sh --alter --entity-type topics --entity-name {spec.name} "
        f"--add-config cleanup.policy={spec.cleanup_policy}",
    )


def partitions_mismatch(spec: TopicSpec, actual: BrokerTopic, partitions: int) -> Mismatch | None:
    """The topic has another partition count than ``STREAMWISE_PARTITIONS`` creates."""
    if actual.partitions == partitions:
        return None
    return Mismatch(
        spec.name,
        f"{actual.partitions} partition(s), STREAMWISE_PARTITIONS is {partitions}",
        f"delete the topic and let streamwise create it with {partitions}, "
        f"or set STREAMWISE_PARTITIONS={actual.partitions} if that count was meant",
    )


def copartition_mismatch(
    joined: Sequence[str], actual: Mapping[str, BrokerTopic]
) -> Mismatch | None:
    """Topics a pipeline joins by key must have equal partition counts, or the join is wrong.

    ``joined`` are topic names as the deployment names them; topics not on the broker
    are left to the other checks.
    """
    counts = {name: actual[name].partitions for name in joined if name in actual}
    if len(set(counts.values())) <= 1:
        return None
    described = ", ".join(f"{name} ({count})" for name, count in counts.items())
    most = max(counts.values())
    short = [name for name, count in counts.items() if count != most]
    return Mismatch(
        " + ".join(counts),
        f"joined by key but not co-partitioned: {described} partitions",
        f"recreate {', '.join(short)} with {most} partitions (delete, then "
        f"'STREAMWISE_PARTITIONS={most} streamwise topics --create')",
    )


def registry_mismatches(
    specs: Iterable[TopicSpec],
    actual: Mapping[str, BrokerTopic],
    *,
    partitions: int,
    joined: Iterable[Sequence[str]],
) -> list[Mismatch]:
    """Every mismatch between the broker's topics and the registry; missing topics are not one."""
    found: list[Mismatch] = []
    for spec in specs:
        held = actual.get(spec.name)
        if held is None:
            continue
        found += [
            m
            for m in (cleanup_mismatch(spec, held), partitions_mismatch(spec, held, partitions))
            if m is not None
        ]
    found += [m for group in joined if (m := copartition_mismatch(group, actual)) is not None]
    return found
