"""The ONNX backends on the real MiniLM: the same vectors as torch (fp32) or close (int8),
graphs built once, token vectors for key phrases, refusals that name the fix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import LowRankAdapter, ModelConfigError, SentenceTransformerEmbedder
from models.backends import make_embedder
from models.embeddings import default_embed_model_path
from models.onnx_encoder import OnnxEmbedder, padded_batches
from pipelines.feedback.analyzers.sentiment_head import ADAPTER_PATH
from tests.models.test_embeddings import TEXTS


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    return (np.asarray(a) * np.asarray(b)).sum(axis=1)  # type: ignore[no-any-return]


def test_fp32_gives_torchs_vectors_and_int8_close_ones_under_its_own_model_id(
    embedder: SentenceTransformerEmbedder, cache: Path
) -> None:
    fp32 = OnnxEmbedder(cache_dir=cache, int8=False)
    int8 = OnnxEmbedder(cache_dir=cache, int8=True)
    torch_vectors = embedder.embed(TEXTS)
    assert cosines(fp32.embed(TEXTS), torch_vectors).min() > 0.9999
    close = cosines(int8.embed(TEXTS), torch_vectors)
    assert close.mean() > 0.93
    assert close.min() > 0.8
    assert (fp32.model_id, fp32.dimension) == (embedder.model_id, 384)
    assert int8.model_id == embedder.model_id + "+int8"  # never shares a collection
    for vector in int8.embed(TEXTS):
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_token_vectors_and_counts_match_the_torch_backend(
    embedder: SentenceTransformerEmbedder, cache: Path
) -> None:
    onnx = OnnxEmbedder(cache_dir=cache, int8=False)
    for ours, theirs in zip(onnx.embed_tokens(TEXTS), embedder.embed_tokens(TEXTS), strict=True):
        assert ours.token_ids == theirs.token_ids
        assert np.abs(ours.tokens - theirs.tokens).max() < 1e-3
    assert onnx.token_ids(["charged twice"]) == embedder.token_ids(["charged twice"])
    assert [onnx.count_tokens(t) for t in TEXTS] == [embedder.count_tokens(t) for t in TEXTS]
    assert (onnx.embed([]), onnx.embed_tokens([]), onnx.token_ids([])) == ([], [], [])


def test_a_graph_is_built_once_per_model_adapter_and_precision(cache: Path) -> None:
    adapter = LowRankAdapter.load(ADAPTER_PATH)
    tuned = make_embedder(None, backend="onnx-int8", cache_dir=cache, adapter=adapter)
    built = {path.name: path.stat().st_mtime_ns for path in cache.glob("*.onnx")}
    again = make_embedder(None, backend="onnx-int8", cache_dir=cache, adapter=adapter)
    assert {path.name: path.stat().st_mtime_ns for path in cache.glob("*.onnx")} == built
    assert again.embed(TEXTS[:1]) == tuned.embed(TEXTS[:1])
    assert tuned.model_id.endswith(f"+lora-{adapter.digest}+int8")
    assert len(built) == 4
    assert not list(cache.glob("*.partial"))


def test_a_model_that_does_not_mean_pool_is_refused_with_the_fix(tmp_path: Path) -> None:
    folder = tmp_path / "cls-pooled"
    folder.mkdir()
    for path in default_embed_model_path().iterdir():
        if path.name != "1_Pooling":
            (folder / path.name).symlink_to(path)
    (folder / "1_Pooling").mkdir()
    pooling = {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    with pytest.raises(ModelConfigError, match="STREAMWISE_EMBED_BACKEND=torch"):
        OnnxEmbedder(str(folder), cache_dir=tmp_path / "cache", int8=False)


def test_encoder_calls_pad_little_and_stay_within_their_budget() -> None:
    lengths = [5, 200, 17, 180, 199, 3, 60]
    batches = padded_batches(lengths, max_rows=3, max_tokens=400)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert [lengths[i] for batch in batches for i in batch] == sorted(lengths, reverse=True)
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * lengths[batch[0]] <= 400
    assert padded_batches([900], max_rows=32, max_tokens=400) == [[0]]  # alone, never dropped


def test_the_batching_budget_changes_no_vector(cache: Path) -> None:
    texts = [*TEXTS, " ".join(TEXTS) * 3]
    one_call = OnnxEmbedder(cache_dir=cache, int8=False, batch_tokens=10**9).embed(texts)
    many = OnnxEmbedder(cache_dir=cache, int8=False, batch_size=2, batch_tokens=64).embed(texts)
    assert cosines(one_call, many).min() > 0.99999
