"""Knowledge/RAG benchmark: sync throughput, freshness, answer latency, retrieval quality.

Runs the real thing: an embedded Kafka broker, ``streamwise run knowledge`` and
``streamwise run rag`` as separate processes on embedded Chroma, and this process
as the producer and asker. Documents and questions are the Debian FAQ
(``bench/kb_dataset.py``). The questions are asked twice in the same run: of the FAQ
as it is, then of the same FAQ with a sentence of dates, versions, IP addresses and
phone numbers added to every entry (a bank's knowledge base is full of them, and one
dotted date once dead-lettered every question retrieving it). Figures go to the
``knowledge`` section of ``bench/RESULTS.md``.

    .venv/bin/python -m bench.knowledge [--questions 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.kb_dataset import FaqEntry, change, deletion, load_faq, with_identifiers
from bench.results import percentile, write_section
from models import Embedder
from pipelines.common import backends
from pipelines.common.admin import ensure_topics
from pipelines.common.clients import client_config, pipeline_group, producer_config
from pipelines.common.serialization import encode_json
from pipelines.common.settings import StreamwiseSettings
from pipelines.common.topics import all_topics
from pipelines.devenv.broker import embedded_broker
from pipelines.knowledge.answering import QUOTED
from pipelines.knowledge.chunking import chunk_document
from pipelines.knowledge.index import KnowledgeIndex
from pipelines.knowledge.replica import KnowledgeReplica
from pipelines.knowledge.replies import AnswerRouter, AnswerTimeout
from pipelines.knowledge.retrieval import Scored, dense_search, hybrid_search, ranked_documents
from pipelines.knowledge.settings import KnowledgeSettings

STREAMWISE = Path(sys.executable).with_name("streamwise")
LOGS = Path(tempfile.gettempdir()) / "streamwise-bench-knowledge"  # kept after the run
SYNC_ROUNDS = 3
NO_ANSWER = "no answer"  # the status of a question that got none (dead-lettered)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s}s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(0.05)  # poll interval


@contextmanager
def pipeline_process(name: str, settings: StreamwiseSettings, log: Path) -> Iterator[None]:
    env = {
        **os.environ,
        "STREAMWISE_BROKER": settings.broker or "",
        "STREAMWISE_DATA_DIR": str(settings.data_dir),
        "STREAMWISE_TOPIC_PREFIX": settings.topic_prefix,
        "STREAMWISE_PARTITIONS": str(settings.partitions),
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [STREAMWISE, "run", name], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Asked:
    """What the benchmark questions got from one corpus."""

    statuses: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    retrievals: list[float] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    cited_right: int = 0
    quoted: int = 0

    def counts(self) -> str:
        return ", ".join(f"{s}: {self.statuses.count(s)}" for s in sorted(set(self.statuses)))


def ask_all(router: AnswerRouter, entries: list[FaqEntry], timeout_s: float) -> Asked:
    """Ask every entry's question, one at a time; a question with no answer is counted."""
    asked = Asked()
    for entry in entries:
        started = time.monotonic()
        try:
            answer = router.ask(entry.question, timeout_s=timeout_s)
        except AnswerTimeout:
            asked.statuses.append(NO_ANSWER)
            continue
        asked.round_trips.append((time.monotonic() - started) * 1000)
        asked.latencies.append(answer.latency_ms)
        retrieval_ms = getattr(answer, "retrieval_ms", None)
        if retrieval_ms is not None:
            asked.retrievals.append(float(retrieval_ms))
        asked.statuses.append(answer.status)
        asked.quoted += str(getattr(answer, "reason", None) or "").startswith(QUOTED)
        cited = [c.doc_id for c in answer.citations]
        asked.cited_right += bool(cited) and cited[0] == entry.doc_id
    return asked


def produce(settings: StreamwiseSettings, changes: list[dict[str, object]]) -> None:
    from confluent_kafka import Producer  # noqa: PLC0415

    producer = Producer(producer_config(settings))
    for value in changes:
        producer.produce(
            settings.topic_prefix + "kb-changes", key=str(value["doc_id"]), value=encode_json(value)
        )
    producer.flush(30)


@contextmanager
def synced_through_end(settings: StreamwiseSettings) -> Iterator[Callable[[], bool]]:
    """A cheap check that the sync has committed every change produced so far.

    The sync commits a checkpoint's offsets only after its sink applied the
    checkpoint's plans, so committed offsets at the end of ``kb-changes`` mean
    everything is in Chroma. Asking the broker costs the 2 shared cores far less
    than reading the manifest from Chroma every poll, which slowed the sync
    being measured by about a tenth.
    """
    from confluent_kafka import Consumer, TopicPartition  # noqa: PLC0415

    topic = settings.topic_prefix + "kb-changes"
    group = pipeline_group("knowledge", settings.topic_prefix)
    probe = Consumer({**client_config(settings), "group.id": group})
    partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
    ends = {tp.partition: probe.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}

    def done() -> bool:
        committed = probe.committed(partitions, timeout=10)
        return all(tp.offset >= ends[tp.partition] for tp in committed)

    try:
        yield done
    finally:
        probe.close()


def timed_sync(settings: StreamwiseSettings, changes: list[dict[str, object]]) -> float:
    """Seconds from producing ``changes`` until the sync has committed them all."""
    started = time.monotonic()
    produce(settings, changes)
    with synced_through_end(settings) as synced:
        wait_until(synced, 600, "the sync to commit the changes")
    return time.monotonic() - started


def timed_encode(embedder: Embedder, texts: list[str]) -> float:
    started = time.monotonic()
    embedder.embed(texts)
    return time.monotonic() - started


def recall(rankings: list[list[str]], truth: list[str], k: int) -> float:
    return sum(t in r[:k] for r, t in zip(rankings, truth, strict=True)) / len(truth)


def run(questions: int) -> str:  # noqa: PLR0915 - one benchmark story, top to bottom
    faq = load_faq()
    knowledge = KnowledgeSettings()
    with (
        tempfile.TemporaryDirectory(prefix="bench-knowledge-") as tmp,
        embedded_broker("kafka", workdir=Path(tmp)) as broker,
    ):
        settings = StreamwiseSettings(
            broker=broker.address, data_dir=Path(tmp) / "data", topic_prefix="bench.", partitions=2
        )
        ensure_topics(client_config(settings), all_topics(settings.topic_prefix), partitions=2)
        embedder = backends.embedder(settings)
        index = KnowledgeIndex.open(settings, knowledge)

        count = embedder.count_tokens
        texts = [
            c.text
            for e in faq[1:]
            for c in chunk_document(e.doc_id, e.title, e.answer, count,
                                    max_tokens=knowledge.chunk_tokens,
                                    overlap_tokens=knowledge.overlap_tokens)
        ]  # fmt: skip

        def applied(doc_versions: dict[str, int]) -> bool:
            docs = index.manifest(list(doc_versions)).documents
            return all(d in docs and docs[d].version >= v for d, v in doc_versions.items())

        with pipeline_process("knowledge", settings, LOGS / "knowledge.log"), \
                pipeline_process("rag", settings, LOGS / "rag.log"):  # fmt: skip
            # Warm up: both processes loaded their models and joined their groups.
            produce(settings, [change(faq[0], 1)])
            wait_until(lambda: applied({faq[0].doc_id: 1}), 300, "the warm-up document")
            router = AnswerRouter(settings)
            router.ask("warm up", timeout_s=300)

            # Sync rounds, each right after a raw encode of the same chunks in this process
            # (the pipelines idle meanwhile). Round 0 indexes the FAQ for the rest of the
            # run; later rounds index copies under other ids (the same texts, embedded
            # again) and delete them afterwards, unmeasured.
            rounds: list[tuple[float, float]] = []
            for number in range(SYNC_ROUNDS):
                copy = f".copy{number}" if number else ""
                encode_s = timed_encode(embedder, texts)
                sync_s = timed_sync(settings, [change(e, 1, copy=copy) for e in faq[1:]])
                if not applied({e.doc_id + copy: 1 for e in faq[1:]}):
                    msg = "the sync committed the FAQ's offsets, but its manifest lacks documents"
                    raise RuntimeError(msg)
                if copy:
                    timed_sync(settings, [deletion(e.doc_id + copy, 2) for e in faq[1:]])
                rounds.append((sync_s, encode_s))
            manifest = index.manifest()
            synced_chunks = sum(len(manifest.documents[e.doc_id].chunk_ids) for e in faq[1:])
            if synced_chunks != len(texts):
                msg = f"the sync stored {synced_chunks} chunks, the raw encode had {len(texts)}"
                raise RuntimeError(msg)

            # Freshness: an edited document, asked about with read-your-writes.
            target = faq[5]
            edit = "\n\nUpdate: the Debian FAQ mirror in Lisbon answers this question too."
            edited_at = time.monotonic()
            produce(settings, [change(target, 2, edit)])
            wait_until(lambda: applied({target.doc_id: 2}), 120, "the edit")
            fresh_s = time.monotonic() - edited_at
            fresh = router.ask(target.question, min_versions={target.doc_id: 2}, timeout_s=120)
            fresh_cited = any(c.doc_id == target.doc_id and c.version == 2 for c in fresh.citations)

            benchmark = faq[10 : 10 + questions]
            plain = ask_all(router, benchmark, timeout_s=300)

            # The same FAQ with dates, versions, IPs and phone numbers in every entry.
            dotted = [with_identifiers(e, n) for n, e in enumerate(faq[1:], start=1)]
            timed_sync(settings, [change(e, 3) for e in dotted])
            if not applied({e.doc_id: 3 for e in dotted}):
                msg = "the sync committed the dotted FAQ's offsets, but its manifest lacks it"
                raise RuntimeError(msg)
            with_ids = ask_all(router, [dotted[faq.index(e) - 1] for e in benchmark], 120)
            router.close()

        # Retrieval quality over the indexed chunks: hybrid (what RAG uses) vs plain dense.
        snapshot = KnowledgeReplica(index, embedder).refresh()
        vectors = embedder.embed([e.question for e in faq])
        hybrid: list[list[str]] = []
        dense: list[list[str]] = []
        for entry, vector in zip(faq, vectors, strict=True):
            fused: list[Scored] = hybrid_search(
                snapshot.passages, snapshot.vectors, snapshot.bm25, vector, entry.question,
                candidates=knowledge.candidates,
            )  # fmt: skip
            hybrid.append(ranked_documents(fused))
            dense.append(
                ranked_documents(dense_search(snapshot.passages, snapshot.vectors, vector))
            )
        truth = [e.doc_id for e in faq]

    sync_s = statistics.median(sync for sync, _ in rounds)
    encode_s = statistics.median(encode for _, encode in rounds)
    ratios = ", ".join(f"{encode / sync:.2f}" for sync, encode in rounds)
    ratio = statistics.median(encode / sync for sync, encode in rounds)
    latencies, n = plain.latencies, len(plain.latencies)
    answered = plain.statuses.count("ok")
    example = with_identifiers(faq[1], 1).answer.removeprefix(faq[1].answer).strip()
    kept = sum(
        before == after == "ok"
        for before, after in zip(plain.statuses, with_ids.statuses, strict=True)
    )
    rows = [
        "### Sync throughput (kb-changes -> Chroma, end to end)",
        "",
        f"Median of {SYNC_ROUNDS} rounds, each a raw encode then a sync of the same chunks, "
        f"both on the encoder backend in use (`STREAMWISE_EMBED_BACKEND={settings.embed_backend}`"
        f", {embedder.model_id}).",
        "",
        "| what | chunks | seconds | chunks/s |",
        "|---|---:|---:|---:|",
        f"| `streamwise run knowledge` (broker -> chunk -> embed -> Chroma, own process) | "
        f"{synced_chunks} | {sync_s:.1f} | {synced_chunks / sync_s:.1f} |",
        f"| raw batched `encode` of the same chunks (this process) | {len(texts)} | "
        f"{encode_s:.1f} | {len(texts) / encode_s:.1f} |",
        "",
        f"Ratio: **{ratio:.2f}** of raw encode (median; per round {ratios}; goal: at least "
        f"0.85: {'met' if ratio >= 0.85 else 'NOT met'}). The sync's time runs from the "
        "first produce until its consumer group has committed the last change (committed "
        "only after Chroma holds it; checked against the manifest). Both run with the "
        "`knowledge` and `rag` processes up and the broker on the same 2 cores.",
        "",
        f"Freshness: an edited document was applied {fresh_s:.2f} s after it was produced; "
        f"the read-your-writes question right after "
        f"{'cited the new version' if fresh_cited else 'did NOT cite the new version'} "
        f"(status `{fresh.status}`).",
        "",
        f"### Answer latency ({n} Debian FAQ questions, one at a time, SmolLM2-135M, "
        f"`STREAMWISE_LLM_REQUANTIZE={settings.llm_requantize}`)",
        "",
        "| | p50 ms | p95 ms |",
        "|---|---:|---:|",
        f"| retrieval (embed question + hybrid search) | {percentile(plain.retrievals, 0.5):.0f} | "
        f"{percentile(plain.retrievals, 0.95):.0f} |",
        f"| answer in the pipeline (`latency_ms`: retrieval + LLM + checks) | "
        f"{percentile(latencies, 0.5):.0f} | {percentile(latencies, 0.95):.0f} |",
        f"| round trip seen by `ask` (topics both ways) | "
        f"{percentile(plain.round_trips, 0.5):.0f} | {percentile(plain.round_trips, 0.95):.0f} |",
        "",
        f"Mean latency {statistics.mean(latencies):.0f} ms.",
        "",
        f"### Answers, plain FAQ vs the same FAQ with dates, versions, IPs and phone numbers "
        f"({len(plain.statuses)} questions each, same run)",
        "",
        "| corpus | statuses | `ok` quoting their source | first citation right |",
        "|---|---|---:|---:|",
        f"| Debian FAQ as shipped | {plain.counts()} | {plain.quoted} | "
        f"{plain.cited_right}/{len(plain.statuses)} |",
        f'| the same, each entry ending e.g. "{example}" | {with_ids.counts()} | '
        f"{with_ids.quoted} | "
        f"{with_ids.cited_right}/{len(with_ids.statuses)} |",
        "",
        f"Of the {answered} questions answered (`ok`) on the plain FAQ, **{kept}** are answered "
        f"on the FAQ with identifiers too ({'all' if kept == answered else 'NOT all'}). An "
        "answer is "
        "quoted from its source when the model's own states a figure its cited passages do "
        f"not state as that kind of figure; `{NO_ANSWER}` means none came within 120 s "
        "(dead-lettered).",
        "",
        f"### Retrieval quality ({len(faq)} Debian FAQ questions -> their answer entry)",
        "",
        "| retriever | recall@1 | recall@5 |",
        "|---|---:|---:|",
        f"| plain dense top-k (exact cosine, same chunks) | {recall(dense, truth, 1):.3f} | "
        f"{recall(dense, truth, 5):.3f} |",
        f"| hybrid: dense + BM25, reciprocal rank fusion (used by `rag`) | "
        f"{recall(hybrid, truth, 1):.3f} | {recall(hybrid, truth, 5):.3f} |",
        "",
        "Documents: the Debian FAQ 11.1 text from Debian's `debian-faq` package; each "
        "question entry is one document holding only its answer (the question is the query); "
        "measured on the index as it ends the run (the entries with the added sentence).",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=20, help="answers timed (default 20)")
    args = parser.parse_args()
    body = run(args.questions)
    print(body)
    write_section("knowledge", body)


if __name__ == "__main__":
    main()
