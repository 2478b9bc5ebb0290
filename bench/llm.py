"""bench/llm: the LLM steps' latency on the weights as shipped and on what runs now, side by side.

Two pipeline steps call the chat model, both measured here on their own prompts:

* RAG answers: the ``Answerer`` of the rag pipeline over the Debian FAQ
  (``bench/kb_dataset.py``), its chunks made, embedded and searched exactly as the
  pipelines do (about 800 prompt tokens, 40 generated);
* triage notes: the note prompt of ``fraud-triage`` on the alerts the fraud rules raise
  on a generated stream (a short prompt, a longer answer).

Each question and each alert goes to both engines in turn, in the same process:

* ``as shipped``: the bundled Q4_1 GGUF on llama-cpp-python's defaults (the engine
  before issue 17);
* ``now``: what ``streamwise run`` loads: its Q8_0 copy (``STREAMWISE_LLM_REQUANTIZE=auto``),
  flash attention, and the grammar asked only about greedy's pick
  (``models.lazy_grammar``: the same tokens as the eager grammar).

Each engine keeps its own KV cache, so both reuse the fixed prefix of their previous
prompt (llama-cpp-python's longest common prefix) exactly as a pipeline does. The
outcomes are compared too: a 135M model's greedy answer follows float rounding, so
words differ; statuses, right first citations and grounded notes must not get worse.

    python -m bench.llm [--questions 20] [--alerts 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.faq_index import FaqIndex
from bench.kb_dataset import FaqEntry, load_faq
from bench.results import percentile, write_section
from models import ChatModel, LlamaCppChat, TokenEmbedder
from pipelines.common import backends
from pipelines.common.events import FraudAlert, Question
from pipelines.common.settings import StreamwiseSettings
from pipelines.fraud.generator import generate
from pipelines.fraud.notes import NOTE_SCHEMA, alert_facts, grounded_note, system_prompt
from pipelines.fraud.rules import TravelRule, VelocityRule, score_card
from pipelines.knowledge.answering import Answerer
from pipelines.knowledge.settings import KnowledgeSettings
from state.cards import CardRecord


@dataclass
class Timings:
    """What one engine did on one step."""

    seconds: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def row(self, label: str, outcome_names: tuple[str, ...]) -> str:
        p50, p95 = statistics.median(self.seconds), percentile(self.seconds, 0.95)
        counts = " | ".join(str(self.outcomes[name]) for name in outcome_names)
        return f"| {label} | {1000 * p50:.0f} | {1000 * p95:.0f} | {counts} |"


def raised_alerts(count: int) -> list[FraudAlert]:
    """The first ``count`` alerts the fraud rules raise on a generated stream, in order."""
    stream = generate(n_cards=300, days=2, seed=17)
    cards: dict[str, CardRecord] = {}
    alerts: list[FraudAlert] = []
    travel, velocity = TravelRule(), VelocityRule()
    for tx in stream.transactions:
        raised, cards[tx.card_id] = score_card(tx, cards.get(tx.card_id, CardRecord()),
                                               travel, velocity)  # fmt: skip
        alerts.extend(raised)
        if len(alerts) >= count:
            break
    return alerts[:count]


def time_answers(engines: dict[str, ChatModel], index: FaqIndex, embedder: TokenEmbedder,
                 questions: list[FaqEntry]) -> dict[str, Timings]:  # fmt: skip
    answerers = {name: Answerer(index, embedder, chat, KnowledgeSettings())
                 for name, chat in engines.items()}  # fmt: skip
    timings = {name: Timings() for name in engines}
    for n, entry in enumerate(questions):
        question = Question(question_id=f"q{n}", text=entry.question, ts=datetime.now(UTC))
        for name, answerer in answerers.items():
            started = time.perf_counter()
            answer = answerer.answer(question)
            timings[name].seconds.append(time.perf_counter() - started)
            timings[name].outcomes[answer.status] += 1
            first = answer.citations[0].doc_id if answer.citations else None
            timings[name].outcomes["right"] += first == entry.doc_id
    return timings


def time_notes(engines: dict[str, ChatModel], alerts: list[FraudAlert]) -> dict[str, Timings]:
    timings = {name: Timings() for name in engines}
    for alert in alerts:
        facts = alert_facts(alert)
        for name, chat in engines.items():
            started = time.perf_counter()
            answer = chat.complete_json(system_prompt(alert), "Alert facts: " + facts, NOTE_SCHEMA)
            timings[name].seconds.append(time.perf_counter() - started)
            _, source = grounded_note(str(answer["note"]), alert, facts)
            timings[name].outcomes[source] += 1
    return timings


def run(questions: int, alerts: int) -> str:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = StreamwiseSettings(data_dir=Path(data_dir))
        embedder = backends.embedder(settings)
        engines: dict[str, ChatModel] = {
            "as shipped: Q4_1, llama-cpp-python defaults": LlamaCppChat(tuned=False),
            "now: Q8_0 copy, flash attention, lazy grammar": backends.chat_model(settings),
        }
        faq = load_faq()
        answers = time_answers(engines, FaqIndex(faq, embedder), embedder,
                               faq[10 : 10 + questions])  # fmt: skip
        notes = time_notes(engines, raised_alerts(alerts))
    (before, now), (note_before, note_now) = answers.values(), notes.values()
    answer_cut = 1 - statistics.median(now.seconds) / statistics.median(before.seconds)
    note_cut = 1 - statistics.median(note_now.seconds) / statistics.median(note_before.seconds)
    answer_names = ("ok", "rejected", "no_context", "right")
    lines = [
        f"### RAG answers ({questions} Debian FAQ questions, the rag pipeline's `Answerer`)",
        "",
        "| engine | p50 ms | p95 ms | ok | rejected | no_context | first citation right |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(timing.row(name, answer_names) for name, timing in answers.items()),
        "",
        f"p50 **{100 * answer_cut:.0f} % lower** now (goal: at least 30 %). The time is the "
        "whole answer (retrieval, model, checks), as `latency_ms` counts it.",
        "",
        f"### Triage notes ({alerts} alerts the fraud rules raised on a generated stream)",
        "",
        "| engine | p50 ms | p95 ms | kept (model) | rebuilt from facts |",
        "|---|---:|---:|---:|---:|",
        *(timing.row(name, ("model", "facts")) for name, timing in notes.items()),
        "",
        f"p50 {100 * note_cut:.0f} % lower now. A note is rebuilt from the facts when the "
        "model's states a figure or name the alert does not.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20, help="RAG answers timed")
    parser.add_argument("--alerts", type=int, default=20, help="triage notes timed")
    args = parser.parse_args()
    body = run(args.questions, args.alerts)
    print(body)
    write_section("llm", body)


if __name__ == "__main__":
    main()
