"""A pipeline uses only the topics it declares: its printed ACLs would grant no other."""

from __future__ import annotations

import pytest

from pipelines.common.admin import TopicsUnusable
from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings


def test_a_topic_the_pipeline_does_not_declare_is_refused(settings: StreamwiseSettings) -> None:
    papp = make_app("fraud", settings)
    with pytest.raises(TopicsUnusable, match=r"uses topic questions without declaring it"):
        papp.topic("questions")
    reads = papp.app.dataframe(papp.topic("transactions"))
    with pytest.raises(TopicsUnusable, match=r"publishes to customers, not a topic it .* writes"):
        papp.publish(reads, "customers")
