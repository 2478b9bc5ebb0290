"""Model and cache metrics: the metered adapters time calls and count errors, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from models.errors import ModelUnavailable
from pipelines.common.metered import MeteredChatModel, MeteredEmbedder
from pipelines.common.metrics import SHARED_REGISTRY, record_cache_lookup


class FlakyEmbedder:
    """Fails its first call (a dropped connection), then embeds."""

    model_id = "test-flaky-embedder"
    dimension = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == 1:
            msg = "connection dropped"
            raise ModelUnavailable(msg)
        return [[1.0, 0.0] for _ in texts]


class EchoChat:
    model_id = "test-echo-chat"

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"echo": user}


def sample(name: str, **labels: str) -> float:
    return SHARED_REGISTRY.get_sample_value(name, labels) or 0.0


def test_metered_embedder_times_each_call_and_counts_the_failed_one() -> None:
    embedder = MeteredEmbedder(FlakyEmbedder())
    with pytest.raises(ModelUnavailable):
        embedder.embed(["a"])
    assert embedder.embed(["a", "b"]) == [[1.0, 0.0], [1.0, 0.0]]
    labels = {"model": "test-flaky-embedder", "operation": "embed"}
    assert sample("streamwise_model_latency_seconds_count", **labels) == 2
    assert sample("streamwise_model_errors_total", **labels, error="ModelUnavailable") == 1
    assert (embedder.model_id, embedder.dimension) == ("test-flaky-embedder", 2)


def test_metered_chat_model_passes_answers_through_and_times_them() -> None:
    chat = MeteredChatModel(EchoChat())
    assert chat.complete_json("sys", "hello", {}) == {"echo": "hello"}
    labels = {"model": "test-echo-chat", "operation": "complete_json"}
    assert sample("streamwise_model_latency_seconds_count", **labels) == 1
    assert sample("streamwise_model_errors_total", **labels, error="ValueError") == 0


def test_cache_hit_ratio_is_hits_over_lookups() -> None:
    for hit in (True, True, True, False):
        record_cache_lookup("test-cache", hit=hit)
    assert sample("streamwise_cache_lookups_total", cache="test-cache", result="hit") == 3
    assert sample("streamwise_cache_hit_ratio", cache="test-cache") == 0.75
