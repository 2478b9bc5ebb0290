"""Chunking is pure: a whitespace word count stands in for the tokenizer."""

from __future__ import annotations

import pytest

from pipelines.knowledge.chunking import chunk_document, hash_of


def words(text: str) -> int:
    return len(text.split())


def sentences(n: int, topic: str) -> str:
    return " ".join(f"{topic} sentence number {i} has five words." for i in range(n))


def test_every_chunk_fits_the_token_budget_header_included() -> None:
    text = "\n\n".join(sentences(6, f"para{p}") for p in range(8))
    chunks = chunk_document("doc", "A Title", text, words, max_tokens=40, overlap_tokens=8)
    assert len(chunks) > 5
    assert all(words(c.text) <= 40 for c in chunks)
    assert all(c.text.startswith("A Title\n\n") for c in chunks)


def test_headings_start_new_chunks_and_name_their_section() -> None:
    text = "# Refunds\n\nMoney back in 30 days.\n\n# Shipping\n\nParcels take 3 days."
    chunks = chunk_document("doc", "Policies", text, words, max_tokens=60, overlap_tokens=8)
    assert [c.text for c in chunks] == [
        "Policies — Refunds\n\nMoney back in 30 days.",
        "Policies — Shipping\n\nParcels take 3 days.",
    ]


def test_underlined_titles_are_headings_too() -> None:
    text = "Returns\n=======\n\nKeep the receipt.\n\nWarranty\n--------\n\nTwo years."
    chunks = chunk_document("doc", "", text, words, max_tokens=60, overlap_tokens=8)
    assert [c.text for c in chunks] == ["Returns\n\nKeep the receipt.", "Warranty\n\nTwo years."]


def test_a_new_chunk_repeats_the_last_sentence_of_the_previous_one() -> None:
    text = sentences(12, "alpha")
    first, second, *_ = chunk_document("d", "", text, words, max_tokens=30, overlap_tokens=8)
    last_sentence = first.text.rsplit(". ", 1)[-1]
    assert second.text.startswith(last_sentence)


def test_wrapped_lines_are_reflowed_and_list_items_kept_apart() -> None:
    text = "Debian is:\n\n  * free to\n    use\n  * dynamic and\n    evolving"
    [chunk] = chunk_document("d", "", text, words, max_tokens=60, overlap_tokens=8)
    assert chunk.text == "Debian is: * free to use\n* dynamic and evolving"


def test_ids_are_deterministic_and_change_only_where_the_text_changed() -> None:
    v1 = "# A\n\nfirst part.\n\n# B\n\nsecond part.\n\n# C\n\nthird part."
    v2 = v1.replace("second part.", "second part, revised.")
    one = chunk_document("doc", "T", v1, words, max_tokens=60, overlap_tokens=8)
    again = chunk_document("doc", "T", v1, words, max_tokens=60, overlap_tokens=8)
    two = chunk_document("doc", "T", v2, words, max_tokens=60, overlap_tokens=8)
    assert [c.chunk_id for c in one] == [c.chunk_id for c in again]
    assert [a.chunk_id == b.chunk_id for a, b in zip(one, two, strict=True)] == [True, False, True]
    assert all(c.chunk_id == f"doc:{c.position}:{c.content_hash}" for c in two)
    assert hash_of(two[1].chunk_id) == two[1].content_hash


def test_an_overlong_sentence_is_cut_at_words() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_document("d", "", text, words, max_tokens=32, overlap_tokens=0)
    assert all(words(c.text) <= 32 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_an_overlap_of_half_the_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_document("d", "", "text", words, max_tokens=40, overlap_tokens=20)
