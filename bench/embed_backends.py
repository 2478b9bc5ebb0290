"""bench/embed_backends: the encoder on torch, onnx and onnx-int8, speed and quality side by side.

Same process, same texts, one thread each (``FEEDBACK_MODEL_THREADS``' default), batches
of 32, every backend measured in every round:

* speed: sentences/s on short feedback texts (generated) and on the Debian FAQ's
  200-token chunks (what the knowledge sync embeds);
* retrieval: dense recall@1/@5 of the Debian FAQ questions against their entries'
  chunks (a document ranks by its best chunk), the part of RAG's hybrid retrieval the
  backend changes;
* sentiment: the shipped classifier's accuracy on the dev split of its training corpora
  (never the reserved product reviews), its tuned encoder on the same backend.

The default (``STREAMWISE_EMBED_BACKEND``) should be the fastest backend losing at most
one point of any quality figure against torch.

    python -m bench.embed_backends [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.kb_dataset import load_faq
from bench.results import per_second_in_batches, write_section
from bench.training.labeled import training_items
from models import LowRankAdapter, TokenEmbedder
from models.backends import EMBED_BACKENDS, EmbedBackend, make_embedder
from pipelines.common.text.pii import mask_pii
from pipelines.feedback.analyzers.sentiment_head import (
    ADAPTER_PATH,
    SentimentClassifier,
    SentimentHead,
)
from pipelines.feedback.generator import generate
from pipelines.knowledge.chunking import chunk_document
from pipelines.knowledge.settings import KnowledgeSettings

BATCH = 32
QUALITY_POINTS = 1.0


def recalls(embedder: TokenEmbedder, chunks: list[tuple[str, str]],
            questions: list[tuple[str, str]]) -> tuple[float, float]:  # fmt: skip
    """Dense recall@1 and @5: each question's documents ranked by their best chunk."""
    vectors = np.asarray(embedder.embed([text for _, text in chunks]))
    owners = [doc for doc, _ in chunks]
    hits1 = hits5 = 0
    for (truth, _), query in zip(questions, embedder.embed([q for _, q in questions]), strict=True):
        best: dict[str, float] = {}
        for owner, score in zip(owners, vectors @ np.asarray(query), strict=True):
            best[owner] = max(best.get(owner, -1.0), float(score))
        ranked = sorted(best, key=lambda doc: -best[doc])
        hits1 += truth in ranked[:1]
        hits5 += truth in ranked[:5]
    return hits1 / len(questions), hits5 / len(questions)


def sentiment_accuracy(tuned: TokenEmbedder, texts: list[str], gold: Sequence[str]) -> float:
    classifier = SentimentClassifier(tuned, SentimentHead.load())
    labels = [
        max(probs, key=lambda label: probs[label])
        for i in range(0, len(texts), BATCH)
        for probs in classifier.probabilities(texts[i : i + BATCH])
    ]
    return sum(a == b for a, b in zip(labels, gold, strict=True)) / len(gold)


def loss_points(base: tuple[float, ...], other: tuple[float, ...]) -> float:
    """The largest drop, in points (to a tenth: no float noise), of any quality figure."""
    return round(max((b - o) * 100 for b, o in zip(base, other, strict=True)), 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="encoder backends, speed and quality")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv or [])

    feedback_texts = [mask_pii(item["text"]).strip() for item in generate(
        640, start=datetime(2026, 1, 5, tzinfo=UTC), spacing=timedelta(seconds=1), seed=11,
        unique=True)]  # fmt: skip
    faq, knowledge = load_faq(), KnowledgeSettings()
    dev = training_items("dev")
    dev_texts, dev_gold = [item.text for item in dev], [item.label for item in dev]
    adapter = LowRankAdapter.load(ADAPTER_PATH)

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        plain = {b: make_embedder(None, backend=b, cache_dir=cache, threads=1)
                 for b in EMBED_BACKENDS}  # fmt: skip
        tuned = {b: make_embedder(None, backend=b, cache_dir=cache, threads=1, adapter=adapter)
                 for b in EMBED_BACKENDS}  # fmt: skip
        count = plain["torch"].count_tokens
        chunks = [
            (entry.doc_id, chunk.text)
            for entry in faq
            for chunk in chunk_document(entry.doc_id, entry.title, entry.answer, count,
                                        max_tokens=knowledge.chunk_tokens,
                                        overlap_tokens=knowledge.overlap_tokens)
        ]  # fmt: skip
        questions = [(entry.doc_id, entry.question) for entry in faq]
        long_chunks = [text for _, text in chunks if count(text) >= knowledge.chunk_tokens * 3 // 4]

        short: dict[EmbedBackend, list[float]] = {b: [] for b in EMBED_BACKENDS}
        long: dict[EmbedBackend, list[float]] = {b: [] for b in EMBED_BACKENDS}
        for _ in range(args.rounds):
            for backend, embedder in plain.items():
                embedder.embed(feedback_texts[:BATCH])  # warm
                short[backend].append(per_second_in_batches(embedder.embed, feedback_texts, BATCH))
                long[backend].append(per_second_in_batches(embedder.embed, long_chunks, BATCH))
        quality = {
            b: (*recalls(plain[b], chunks, questions),
                sentiment_accuracy(tuned[b], dev_texts, dev_gold))
            for b in EMBED_BACKENDS
        }  # fmt: skip

    rows = []
    for backend in EMBED_BACKENDS:
        r1, r5, acc = quality[backend]
        worst = loss_points(quality["torch"], quality[backend])
        rows.append(
            f"| `{backend}` | {statistics.median(short[backend]):.0f} | "
            f"{statistics.median(long[backend]):.1f} | {r1:.3f} | {r5:.3f} | {acc:.3f} | "
            f"{worst:+.1f} |"
        )
    eligible = [b for b in EMBED_BACKENDS
                if loss_points(quality["torch"], quality[b]) <= QUALITY_POINTS]  # fmt: skip
    fastest = max(eligible, key=lambda b: statistics.median(short[b]))
    body = "\n".join([
        f"{len(feedback_texts)} short generated feedback texts; {len(long_chunks)} Debian FAQ "
        f"chunks of at least {knowledge.chunk_tokens * 3 // 4} tokens (chunked at "
        f"{knowledge.chunk_tokens}); {len(questions)} FAQ questions against {len(chunks)} "
        f"chunks; sentiment on {len(dev)} dev texts. One thread, batches of {BATCH}, median "
        f"of {args.rounds} rounds for speed.",
        "",
        "| backend | short texts/s | 200-token chunks/s | recall@1 | recall@5 | sentiment acc. | "
        "largest loss vs torch (points) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Fastest backend within {QUALITY_POINTS:g} point of torch on every quality figure: "
        f"**`{fastest}`**.",
    ])  # fmt: skip
    write_section("embed-backends", body)
    print(body, flush=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
