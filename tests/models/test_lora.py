"""Low-rank adapters on the real MiniLM: merged into a copy, identified, refused on a mismatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models import LowRankAdapter, ModelConfigError, SentenceTransformerEmbedder

LAYER = "0.model.encoder.layer.5.output.dense"  # 1536 inputs -> 384 outputs
TEXT = "The parcel arrived two weeks late."


def _adapter(seed: int, layer: str = LAYER, shape: tuple[int, int] = (1536, 384)) -> LowRankAdapter:
    rng = np.random.default_rng(seed)
    inputs, outputs = shape
    a = rng.normal(size=(4, inputs)).astype(np.float32)
    b = rng.normal(scale=0.05, size=(outputs, 4)).astype(np.float32)
    return LowRankAdapter(scale=2.0, factors={layer: (a, b)})


def test_an_adapter_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    adapter = _adapter(1)
    adapter.save(tmp_path / "adapter.npz")
    loaded = LowRankAdapter.load(tmp_path / "adapter.npz")
    a, b = adapter.factors[LAYER]
    la, lb = loaded.factors[LAYER]
    assert loaded.scale == adapter.scale
    np.testing.assert_allclose(la, a, rtol=1e-3)  # stored as float16
    np.testing.assert_allclose(lb, b, rtol=1e-3, atol=1e-6)


def test_an_adapted_model_has_its_own_id_and_vectors_and_leaves_the_base_alone(
    embedder: SentenceTransformerEmbedder,
) -> None:
    before = embedder.embed([TEXT])[0]
    adapted = SentenceTransformerEmbedder(adapter=_adapter(2))
    assert adapted.model_id == f"{embedder.model_id}+lora-{_adapter(2).digest}"
    assert _adapter(2).digest != _adapter(3).digest
    tuned = adapted.embed([TEXT])[0]
    assert np.linalg.norm(tuned) == pytest.approx(1.0, abs=1e-5)
    assert float(np.dot(tuned, before)) < 0.999  # the adapter changed the vector
    assert embedder.embed([TEXT])[0] == before  # the shared base weights are untouched


def test_an_adapter_for_another_model_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="no such layer"):
        SentenceTransformerEmbedder(adapter=_adapter(4, layer="encoder.layer.99.output.dense"))
    with pytest.raises(ModelConfigError, match="shape"):
        SentenceTransformerEmbedder(adapter=_adapter(5, shape=(384, 384)))


def test_an_unreadable_adapter_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelConfigError, match="cannot read"):
        LowRankAdapter.load(tmp_path / "broken.npz")
