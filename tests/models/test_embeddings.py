"""The real all-MiniLM-L6-v2 from the wheel: shape, normalisation, meaning, batching."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from models.embeddings import (
    DEFAULT_EMBED_MODEL_ID,
    SentenceTransformerEmbedder,
    default_embed_model_path,
)
from models.errors import ModelConfigError

TEXTS = [
    "My card was charged twice for the same order.",
    "The delivery was quick and the packaging was great.",
    "How do I reset my online banking password?",
    "ok",
    "A much longer message that goes on about the refund policy, the store opening hours, "
    "and why the customer is unhappy with the answer they got from the support team.",
]


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_default_model_is_minilm_with_384_dimensions(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.model_id == DEFAULT_EMBED_MODEL_ID
    assert embedder.dimension == 384
    assert [len(v) for v in embedder.embed(TEXTS)] == [384] * len(TEXTS)


def test_vectors_are_unit_length(embedder: SentenceTransformerEmbedder) -> None:
    for vector in embedder.embed(TEXTS):
        assert math.isclose(math.sqrt(dot(vector, vector)), 1.0, abs_tol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(
    embedder: SentenceTransformerEmbedder,
) -> None:
    anchor, paraphrase, unrelated = embedder.embed(
        [
            "I was billed two times for one purchase.",
            "My card was charged twice for the same order.",
            "The weather in Lisbon is sunny today.",
        ]
    )

    assert dot(anchor, paraphrase) > dot(anchor, unrelated) + 0.3


def test_batches_give_the_same_vectors_as_one_text_at_a_time(
    embedder: SentenceTransformerEmbedder,
) -> None:
    in_pairs = SentenceTransformerEmbedder(batch_size=2)
    one_by_one = [embedder.embed([text])[0] for text in TEXTS]

    for batched, single in zip(in_pairs.embed(TEXTS), one_by_one, strict=True):
        assert batched == pytest.approx(single, abs=1e-5)


def test_a_single_string_is_refused_rather_than_embedded_per_character(
    embedder: SentenceTransformerEmbedder,
) -> None:
    with pytest.raises(TypeError, match="not one str"):
        embedder.embed("hello")


def test_nothing_to_embed_gives_no_vectors(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.embed([]) == []


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", DEFAULT_EMBED_MODEL_ID])
def test_the_hub_name_of_the_default_model_loads_the_bundled_copy(name: str) -> None:
    assert SentenceTransformerEmbedder(name).model_id == DEFAULT_EMBED_MODEL_ID


def test_the_bundled_folder_given_by_path_keeps_the_default_model_id() -> None:
    embedder = SentenceTransformerEmbedder(str(default_embed_model_path()))

    assert embedder.model_id == DEFAULT_EMBED_MODEL_ID


def test_a_missing_model_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="no-such-model"):
        SentenceTransformerEmbedder(f"{tmp_path}/no-such-model")


def test_the_token_pass_gives_the_same_sentence_vectors_as_embed(
    embedder: SentenceTransformerEmbedder,
) -> None:
    embedded = embedder.embed_tokens(TEXTS)
    for plain, tokens, text in zip(embedder.embed(TEXTS), embedded, TEXTS, strict=True):
        assert dot(plain, tokens.vector.tolist()) == pytest.approx(1.0, abs=1e-5)
        # [CLS] text [SEP], one vector per word piece
        assert len(tokens.token_ids) == embedder.count_tokens(text) + 2
        assert tokens.tokens.shape == (len(tokens.token_ids), 384)


def test_a_phrase_vector_pooled_from_its_span_is_close_to_the_phrase_encoded_alone(
    embedder: SentenceTransformerEmbedder,
) -> None:
    (charged,) = embedder.embed_tokens([TEXTS[0]])
    twice, password = embedder.token_ids(["charged twice", "reset my password"])
    pooled = charged.span_vector(twice)
    assert pooled is not None
    assert math.isclose(float(pooled @ pooled), 1.0, abs_tol=1e-5)
    alone, unrelated = embedder.embed(["charged twice", "the store opening hours"])
    assert dot(pooled.tolist(), alone) > dot(pooled.tolist(), unrelated) + 0.2
    assert charged.span_vector(password) is None  # not in the text: the caller encodes it
    assert charged.span_vector([]) is None
