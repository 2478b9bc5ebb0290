"""A public question -> document set for retrieval quality: the Debian FAQ (package ``debian-faq``).

Debian ships the FAQ as plain text (``/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz``,
``apt-get install debian-faq``, version 11.1 measured). Every numbered entry whose
heading is a question becomes one document: its title is the chapter name and its
text is the answer only. The heading is the query, and the entry is the one right
document. Leaving the question out of the document makes the task what support
retrieval really is: find the answer to a question worded differently from it.
The entries reach the pipelines as ``kb-changes`` events (``change``, ``deletion``).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FAQ_TXT = Path("/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz")
_CHAPTER = re.compile(r"^Chapter (\d+)\. (\S.*)$")
_ENTRY = re.compile(r"^(\d+)\.(\d+)\. (\S.*)$")


@dataclass(frozen=True)
class FaqEntry:
    doc_id: str
    title: str
    question: str
    answer: str


def load_faq(path: Path = FAQ_TXT) -> list[FaqEntry]:
    """Question entries of the Debian FAQ (needs ``apt-get install debian-faq``)."""
    if not path.is_file():
        msg = f"{path} not found: apt-get install debian-faq"
        raise FileNotFoundError(msg)
    text = gzip.decompress(path.read_bytes()).decode("utf-8").replace("\u00a0", " ")
    lines = text.splitlines()
    entries: list[FaqEntry] = []
    chapter, number, heading, body = "", "", [], []  # type: ignore[var-annotated]
    in_heading = False

    def close() -> None:
        question = " ".join(heading)
        text = "\n".join(body).strip()
        if number and question.endswith("?") and text:
            entries.append(FaqEntry(f"debian-faq-{number}", chapter, question, text))

    for line in lines:
        entry, top = _ENTRY.match(line), _CHAPTER.match(line)
        if entry:
            close()
            number, heading, body, in_heading = f"{entry[1]}.{entry[2]}", [entry[3]], [], True
        elif top:
            close()
            chapter, number, heading, body, in_heading = top[2], "", [], [], False
        elif in_heading and line.strip() and not line.startswith(" "):
            heading.append(line.strip())  # a question wrapped onto the next line
        else:
            in_heading = False
            body.append(line)
    close()
    return entries


def change(entry: FaqEntry, version: int, extra: str = "", *, copy: str = "") -> dict[str, object]:
    """An upsert of ``entry``; ``copy`` makes it another document with the same text."""
    return {
        "doc_id": entry.doc_id + copy,
        "version": version,
        "op": "upsert",
        "ts": datetime.now(UTC).isoformat(),
        "title": entry.title,
        "text": entry.answer + extra,
        "source": "debian-faq 11.1",
    }


def with_identifiers(entry: FaqEntry, number: int) -> FaqEntry:
    """``entry`` plus a sentence of what a bank's pages hold: dates, versions, IPs, phones."""
    day = number % 28 + 1
    extra = (
        f"\n\nReviewed on {day:02d}.01.2027 (last change 2026-11-{day:02d}) "
        f"for release 1.11.{number}.2018 and 3.2.1; mirror 192.0.2.{number % 250 + 1} answers "
        f"from 9:00 to 17:00, help desk 0800 123 456 or +44 20 7946 {number:04d}."
    )
    return FaqEntry(entry.doc_id, entry.title, entry.question, entry.answer + extra)


def deletion(doc_id: str, version: int) -> dict[str, object]:
    return {
        "doc_id": doc_id,
        "version": version,
        "op": "delete",
        "ts": datetime.now(UTC).isoformat(),
    }
