"""bench/answers: are answers worth trusting? Citations, statuses and no_context on FAQ sets.

For each FAQ set (the Debian FAQ, ``bench/kb_dataset.py``; the R FAQ, ``bench/kb_second.py``), the
entries are indexed in memory as the rag pipeline indexes them (``bench/faq_index.py``)
and the questions asked of the pipeline's own ``Answerer`` on the bundled model:

* retrieval: hybrid recall@1/@5 over every question (a document ranks by its best chunk);
* answers to the first ``--questions`` questions: statuses, first-citation accuracy (the
  first citation is the entry the question came from), cited-source recall (any citation
  is), citations per answer, p50/p95 latency;
* off-topic questions nobody documented (``OFF_TOPIC``): the share answered
  ``no_context``, and the best passage's cosine for on- and off-topic questions, which
  is what ``KNOWLEDGE_MIN_RELEVANCE`` is compared with.

    python -m bench.answers [--questions 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.faq_index import FaqIndex
from bench.kb_dataset import FaqEntry, load_faq
from bench.kb_second import load_r_faq
from bench.results import percentile, write_section
from models import ChatModel
from pipelines.common import backends
from pipelines.common.events import Answer, Question
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.answering import Answerer
from pipelines.knowledge.retrieval import Scored, ranked_documents
from pipelines.knowledge.settings import KnowledgeSettings

FAQ_SETS: dict[str, Callable[[], list[FaqEntry]]] = {
    "Debian FAQ 11.1": load_faq,
    "R FAQ 2022-09-08": load_r_faq,
}
OFF_TOPIC = [
    "What is the boiling point of tungsten in kelvin?",
    "Who painted the Mona Lisa?",
    "How many calories are in a banana?",
    "What is the capital of Australia?",
    "When did the Western Roman Empire fall?",
    "How do I bake sourdough bread at home?",
    "What tyre pressure should a road bike have?",
    "How long should I boil an egg for a runny yolk?",
    "Which planet has the most moons?",
    "How do I treat a bee sting?",
    "What is the offside rule in football?",
    "How many strings does a cello have?",
    "What causes the northern lights?",
    "How do I get a refund for a cancelled flight?",
    "What is the tallest mountain in Africa?",
    "How often should I water a cactus?",
    "Who wrote Pride and Prejudice?",
    "What is the speed of sound in water?",
    "How do I remove a red wine stain from a carpet?",
    "What is the exchange rate of the Japanese yen?",
]


@dataclass
class Scores:
    """What one FAQ set got."""

    recall1: float = 0.0
    recall5: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    first_right: int = 0
    any_right: int = 0
    citations: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    off_topic_no_context: int = 0
    on_best: list[float] = field(default_factory=list)
    off_best: list[float] = field(default_factory=list)


def ask(answerer: Answerer, text: str) -> tuple[Answer, float]:
    started = time.perf_counter()
    answer = answerer.answer(Question(question_id="q", text=text, ts=datetime.now(UTC)))
    return answer, time.perf_counter() - started


def measure(faq: list[FaqEntry], questions: int, chat: ChatModel,
            settings: StreamwiseSettings) -> Scores:  # fmt: skip
    embedder, knowledge = backends.embedder(settings), KnowledgeSettings()
    index = FaqIndex(faq, embedder)
    answerer = Answerer(index, embedder, chat, knowledge)
    scores = Scores()
    hits = {entry.doc_id: index.search(entry.question) for entry in faq}
    ranked = {doc: ranked_documents(found) for doc, found in hits.items()}
    scores.recall1 = sum(doc in r[:1] for doc, r in ranked.items()) / len(faq)
    scores.recall5 = sum(doc in r[:5] for doc, r in ranked.items()) / len(faq)
    scores.on_best = [best_cosine(found, knowledge) for found in hits.values()]
    for entry in faq[:questions]:
        answer, seconds = ask(answerer, entry.question)
        scores.seconds.append(seconds)
        scores.statuses[answer.status] += 1
        cited = [c.doc_id for c in answer.citations]
        scores.citations.append(len(cited))
        scores.first_right += cited[:1] == [entry.doc_id]
        scores.any_right += entry.doc_id in cited
    for text in OFF_TOPIC:
        answer, _ = ask(answerer, text)
        scores.off_topic_no_context += answer.status == "no_context"
        scores.off_best.append(best_cosine(index.search(text), knowledge))
    return scores


def best_cosine(hits: list[Scored], knowledge: KnowledgeSettings) -> float:
    """The best cosine among the passages shown: what ``min_relevance`` is compared with."""
    return max((h.dense for h in hits[: knowledge.context_chunks]), default=-1.0)


def spread(values: list[float]) -> str:
    low, mid, high = percentile(values, 0.05), statistics.median(values), percentile(values, 0.95)
    return f"{low:.2f} / {mid:.2f} / {high:.2f}"


def report(name: str, faq: list[FaqEntry], questions: int, s: Scores) -> list[str]:
    n, relevance = min(questions, len(faq)), KnowledgeSettings().min_relevance
    on_topic_no_context = sum(best < relevance for best in s.on_best) / len(s.on_best)
    p50, p95 = 1000 * statistics.median(s.seconds), 1000 * percentile(s.seconds, 0.95)
    rows = [
        (f"retrieval recall@1 / @5 (hybrid, all {len(faq)} questions)",
         f"{s.recall1:.2f} / {s.recall5:.2f}"),
        ("first citation right", f"**{s.first_right / n:.2f}** ({s.first_right}/{n})"),
        ("cited-source recall (any citation right)",
         f"**{s.any_right / n:.2f}** ({s.any_right}/{n})"),
        ("citations per answer", f"{statistics.mean(s.citations):.2f}"),
        ("statuses", ", ".join(f"{k}: {v}" for k, v in sorted(s.statuses.items()))),
        ("off-topic questions answered `no_context`",
         f"**{s.off_topic_no_context / len(OFF_TOPIC):.2f}**"),
        (f"on-topic questions whose best passage is under KNOWLEDGE_MIN_RELEVANCE={relevance}",
         f"{on_topic_no_context:.2f}"),
        ("best passage cosine, p5 / p50 / p95: on-topic", spread(s.on_best)),
        ("the same, off-topic", spread(s.off_best)),
        ("answer p50 / p95", f"{p50:.0f} / {p95:.0f} ms"),
    ]  # fmt: skip
    return [
        f"### {name} ({len(faq)} entries; {n} answered, {len(OFF_TOPIC)} off-topic questions)",
        "",
        "| figure | value |",
        "|---|---:|",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
    ]


def run(questions: int) -> str:
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as data_dir:
        settings = StreamwiseSettings(data_dir=Path(data_dir))
        chat = backends.chat_model(settings)
        for name, load in FAQ_SETS.items():
            faq = load()
            lines += report(name, faq, questions, measure(faq, questions, chat, settings))
    lines.append(
        f"Model: {chat.model_id}. The questions answered are each set's first {questions}; "
        "a citation is right when it names the entry the question heads."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20, help="answered per FAQ set")
    args = parser.parse_args()
    body = run(args.questions)
    print(body)
    write_section("answers", body)


if __name__ == "__main__":
    main()
