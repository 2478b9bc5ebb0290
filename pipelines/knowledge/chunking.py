"""Structure-aware chunking of a document into embedder-sized pieces (pure).

A document is split into sections at headings (Markdown ``#`` lines and
underlined titles), sections into paragraphs at blank lines, and only a
paragraph too long for one chunk into sentences (then words). Paragraphs of a
section are packed greedily up to ``max_tokens``; a new chunk of the same section
starts with the last sentences of the previous one (``overlap_tokens``), so an
answer that straddles a boundary is still whole in one chunk. A section never
shares a chunk with another: headings are where topics change.

Token counts come from the caller (the embedder's tokenizer), so the budget is
the model's, not a guess in characters. Every chunk's text starts with the
document title and section heading, because a paragraph alone ("It takes 30
days.") rarely says what it is about.

Chunk ids are ``<doc_id>:<position>:<hash>``: deterministic, and a changed text
means a new id, which is what lets the sync re-embed only what changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipelines.common.text.words import clauses

TokenCounter = Callable[[str], int]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^\s*([=\-~^*#])\1{2,}\s*$")
_BULLET = re.compile(r"^\s*(?:[*\-+\u2022]|\d+[.)])\s+")
HASH_CHARS = 16


@dataclass(frozen=True)
class Chunk:
    """One piece of a document as embedded and stored."""

    chunk_id: str
    doc_id: str
    position: int
    text: str
    content_hash: str


@dataclass(frozen=True)
class _Section:
    heading: str
    paragraphs: list[str]


def content_hash(text: str) -> str:
    """Stable short digest of a chunk's text (part of its id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def chunk_id(doc_id: str, position: int, text: str) -> str:
    return f"{doc_id}:{position}:{content_hash(text)}"


def hash_of(chunk_id_: str) -> str:
    """The content hash inside a chunk id (ids are ``doc:position:hash``)."""
    return chunk_id_.rsplit(":", 1)[-1]


def chunk_document(
    doc_id: str,
    title: str,
    text: str,
    count_tokens: TokenCounter,
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """Split one document into chunks of at most ``max_tokens`` (header included)."""
    if overlap_tokens >= max_tokens // 2:
        msg = f"overlap_tokens ({overlap_tokens}) must be under half of max_tokens ({max_tokens})"
        raise ValueError(msg)
    texts: list[str] = []
    for section in _sections(text):
        header = " — ".join(part for part in (title.strip(), section.heading) if part)
        budget = max_tokens - count_tokens(header) - 2
        if budget < max_tokens // 4:
            header = title.strip()[:80]
            budget = max_tokens - count_tokens(header) - 2
        for body in _pack(section.paragraphs, count_tokens, budget, overlap_tokens):
            texts.append(f"{header}\n\n{body}" if header else body)
    return [
        Chunk(chunk_id(doc_id, i, t), doc_id, i, t, content_hash(t)) for i, t in enumerate(texts)
    ]


def _sections(text: str) -> Iterator[_Section]:
    """Sections at headings; the text before the first heading has an empty heading."""
    heading, paragraphs, lines = "", [], text.replace("\r\n", "\n").split("\n")
    block: list[str] = []

    def close_block() -> None:
        if block:
            paragraph = _paragraph(block)
            if paragraph:
                paragraphs.append(paragraph)
            block.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        match = _HEADING.match(line)
        underlined = (
            i + 1 < len(lines) and line.strip() and not block and _UNDERLINE.match(lines[i + 1])
        )
        if match or underlined:
            close_block()
            if paragraphs:
                yield _Section(heading, paragraphs)
            heading = match.group("title") if match else line.strip()
            paragraphs = []
            i += 1 if match else 2
            continue
        if line.strip():
            block.append(line)
        else:
            close_block()
        i += 1
    close_block()
    if paragraphs:
        yield _Section(heading, paragraphs)


def _paragraph(lines: list[str]) -> str:
    """Reflow wrapped lines, keeping list items on lines of their own."""
    out: list[str] = []
    for line in lines:
        if out and not _BULLET.match(line):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(" ".join(line.split()))
    return "\n".join(" ".join(item.split()) for item in out).strip()


def _units(paragraph: str, count_tokens: TokenCounter, budget: int) -> list[tuple[str, int]]:
    """A paragraph as (text, tokens) units that each fit ``budget``: whole, sentences, or words."""
    tokens = count_tokens(paragraph)
    if tokens <= budget:
        return [(paragraph, tokens)]
    units: list[tuple[str, int]] = []
    for sentence in clauses(paragraph):
        size = count_tokens(sentence)
        if size <= budget:
            units.append((sentence, size))
            continue
        words: list[str] = []
        for word in sentence.split():
            if words and count_tokens(" ".join([*words, word])) > budget:
                piece = " ".join(words)
                units.append((piece, count_tokens(piece)))
                words = []
            words.append(word)
        if words:
            piece = " ".join(words)
            units.append((piece, count_tokens(piece)))
    return units


def _pack(
    paragraphs: list[str], count_tokens: TokenCounter, budget: int, overlap_tokens: int
) -> Iterator[str]:
    """Greedy packing of units into bodies of at most ``budget`` tokens, with overlap."""
    current: list[tuple[str, int]] = []
    fresh = False  # whether ``current`` holds anything beyond the carried-over overlap
    for paragraph in paragraphs:
        for unit in _units(paragraph, count_tokens, budget):
            used = sum(size + 1 for _, size in current)
            if current and used + unit[1] > budget:
                if fresh:
                    yield _join(current)
                current = _tail(current, overlap_tokens, budget - unit[1])
            current.append(unit)
            fresh = True
    if fresh:
        yield _join(current)


def _tail(units: list[tuple[str, int]], overlap_tokens: int, room: int) -> list[tuple[str, int]]:
    """The last units of a chunk, for the overlap: whole units, at most ``overlap_tokens``."""
    kept: list[tuple[str, int]] = []
    total = 0
    for unit in reversed(units):
        size = unit[1] + 1
        if total + size > min(overlap_tokens, room):
            break
        kept.insert(0, unit)
        total += size
    return kept


def _join(units: list[tuple[str, int]]) -> str:
    return " ".join(text for text, _ in units).replace(" \n", "\n")
