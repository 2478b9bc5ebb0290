"""A second public question -> document set: the R FAQ (Debian package ``r-doc-info``).

The Debian FAQ (``bench.kb_dataset``) is one document about one distribution; a
second FAQ from another field checks that retrieval results are not an artefact
of its vocabulary. The R FAQ ("Frequently Asked Questions on R", Kurt Hornik and
the R Core Team, document version 2022-09-08, GPL-2 or later per its "Legalese"
section) ships as GNU Info in ``/usr/share/info/R-FAQ.info.gz``
(``apt-get install r-doc-info``, version 4.2.2.20221110-2 measured, 634 kB).
Info marks every node with a separator byte and a numbered, underlined heading,
so entries split exactly, with no guessing about where a heading ends.

Every numbered section (``7.31``) whose heading is a question becomes one
document: its title is the chapter name, its question the heading, its text the
answer only. Subsections (``2.5.1 How can R be installed (Unix-like)``) are parts
of their parent's answer, so they are folded into it under their own heading.
Info markup a reader never sees is removed: node menus, and cross references
(``*note What is CRAN?::`` becomes ``What is CRAN?``). Answers shorter than 80
characters only point elsewhere and are dropped. The result is 75 entries.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from bench.kb_dataset import FaqEntry

R_FAQ_INFO = Path("/usr/share/info/R-FAQ.info.gz")
_MIN_ANSWER = 80
_SECTION = re.compile(r"\A\n*(\d+(?:\.\d+)*) (\S[^\n]*)\n[*=.-]+\n(.*)\Z", re.S)
_MENU = re.compile(r"^\* Menu:$.*", re.M | re.S)
# "*note Node::" inside this manual, "*Note Label: (R-exts)Node." into another one.
_XREF = re.compile(r"\*[Nn]ote\s+([^:]+?)(?:::|:\s*\([^)]*\)[^.,]*)")
# Info indents the first line of every paragraph but the first by three spaces;
# bullets ("   * ") and code (five spaces) keep theirs.
_PARAGRAPH_INDENT = re.compile(r"(?<=\n\n)   (?=[^\s*])")


def load_r_faq(path: Path = R_FAQ_INFO) -> list[FaqEntry]:
    """Question entries of the R FAQ (needs ``apt-get install r-doc-info``)."""
    if not path.is_file():
        msg = f"{path} not found: apt-get install r-doc-info"
        raise FileNotFoundError(msg)
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    chapters: dict[str, str] = {}
    headings: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for number, heading, body in _sections(text):
        levels = number.split(".")
        if len(levels) == 1:
            chapters[number] = heading
        elif len(levels) == 2:
            headings[number], parts[number] = heading, [body]
        else:
            parts[".".join(levels[:2])].append(f"{heading}\n\n{body}")
    entries: list[FaqEntry] = []
    for number, question in headings.items():
        answer = "\n\n".join(part for part in parts[number] if part)
        if question.endswith("?") and len(answer) >= _MIN_ANSWER:
            chapter = chapters[number.split(".")[0]]
            entries.append(FaqEntry(f"r-faq-{number}", chapter, question, answer))
    return entries


def _sections(text: str) -> Iterator[tuple[str, str, str]]:
    """``(number, heading, cleaned body)`` of every numbered node, in file order.

    Chunks without a ``File:`` line (the preamble, the tag table) and the
    unnumbered top node are not sections and yield nothing.
    """
    for node in text.split("\x1f\n"):
        header, _, rest = node.partition("\n")
        match = _SECTION.match(rest) if header.startswith("File: ") else None
        if match:
            yield match[1], match[2], _clean(match[3])


def _clean(body: str) -> str:
    """The node's text as prose: no menu, cross references as plain names."""
    body = _MENU.sub("", body)
    body = _XREF.sub(lambda ref: " ".join(ref[1].split()), body)
    return _PARAGRAPH_INDENT.sub("", body).strip()
