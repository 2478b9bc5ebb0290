"""A public question -> document set for retrieval quality: the Debian FAQ (package ``debian-faq``).

Debian ships the FAQ as plain text (``/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz``,
``apt-get install debian-faq``, version 11.1 measured). Every numbered entry whose
heading is a question becomes one document: its title is the chapter name and its
text is the answer only. The heading is the query, and the entry is the one right
document. Leaving the question out of the document makes the task what support
retrieval really is: find the answer to a question worded differently from it.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
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
