"""The composition root and the runtime name the same pipelines."""

from __future__ import annotations

from pipelines import registry
from pipelines.common import topics


def test_every_pipeline_streamwise_runs_has_its_dead_letter_topic_and_no_other_has_one() -> None:
    assert list(registry.PIPELINES) == list(topics.PIPELINES), (
        "pipelines/registry.py PIPELINES and pipelines/common/topics.py PIPELINES "
        "(the <pipeline>-dlq topics) must name the same pipelines, in the same order"
    )
    dead_letter_topics = {spec.name for spec in topics.DLQ_TOPICS}
    assert dead_letter_topics == {topics.dlq_name(name) for name in registry.PIPELINES}
