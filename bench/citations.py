"""bench/citations: which passages should an answer cite? Strategies on the same answers.

Each FAQ set's first ``--questions`` questions are retrieved and answered exactly as the
rag pipeline's ``Answerer`` does (its prompt, its model); then every citation strategy
picks from the same shown passages for the same answer, so they differ only in the pick:

* the model's own sources (how answers were cited before ``citations``);
* the best-ranked passage first (retrieval alone);
* the passage most similar to the answer (its content alone);
* evidence, as the ``Answerer`` cites (``pipelines.knowledge.citations``): answer and
  question, and an answer no passage supports replaced by the quote that answers.

A pick is right when it names the entry the question heads. The ceiling is how often
that entry was among the passages shown at all.

    python -m bench.citations [--questions 40]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.answers import FAQ_SETS
from bench.faq_index import FaqIndex
from bench.results import write_section
from models import ChatModel, ModelOutputInvalid, TokenEmbedder
from pipelines.common import backends
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.citations import cite
from pipelines.knowledge.postcheck import parse_lenient, quote_for
from pipelines.knowledge.prompt import build_prompt
from pipelines.knowledge.retrieval import Scored
from pipelines.knowledge.settings import KnowledgeSettings

Pick = Callable[[list[Scored], NDArray[np.float32], NDArray[np.float32], list[int], str], list[int]]
"""(shown passages, their vectors, the answer's vector, the model's 0-based sources, the
question) -> indexes of the shown passages, first cited first."""


def by_model(hits: list[Scored], vectors: NDArray[np.float32], answer: NDArray[np.float32],
             sources: list[int], question: str) -> list[int]:  # fmt: skip
    return list(dict.fromkeys([*sources, *range(len(hits))]))


def by_rank(hits: list[Scored], vectors: NDArray[np.float32], answer: NDArray[np.float32],
            sources: list[int], question: str) -> list[int]:  # fmt: skip
    return list(range(len(hits)))


def by_answer(hits: list[Scored], vectors: NDArray[np.float32], answer: NDArray[np.float32],
              sources: list[int], question: str) -> list[int]:  # fmt: skip
    return [int(i) for i in np.argsort(-(vectors @ answer), kind="stable")]


def by_evidence(hits: list[Scored], vectors: NDArray[np.float32], answer: NDArray[np.float32],
                sources: list[int], question: str) -> list[int]:  # fmt: skip
    """As the ``Answerer`` cites: by evidence; an answer nothing supports is replaced by
    the quote that answers, cited alone (or by nothing: rejected)."""
    cited = cite(answer, vectors, [h.dense for h in hits], most=len(hits))
    quote = None if cited else quote_for(question, [h.passage.text for h in hits])
    return list(cited) if cited else [quote[0]] if quote else []


STRATEGIES: dict[str, Pick] = {
    "the model's own sources (before)": by_model,
    "best-ranked passage first": by_rank,
    "passage most similar to the answer": by_answer,
    "evidence: answer and question (now)": by_evidence,
}


def model_answer(chat: ChatModel, question: str, hits: list[Scored]) -> tuple[str, list[int]]:
    """The model's answer and its 0-based sources, as the ``Answerer`` would get them."""
    knowledge = KnowledgeSettings()
    prompt = build_prompt(
        question, [h.passage for h in hits], context_chars=knowledge.context_chars
    )
    try:
        output = chat.complete_json(prompt.system, prompt.user, prompt.schema)
    except ModelOutputInvalid as exc:
        output = parse_lenient(exc.raw) or {}
    sources = [s - 1 for s in output.get("sources", []) if isinstance(s, int)]
    return str(output.get("answer", "")), [s for s in sources if 0 <= s < len(hits)]


def measure(name: str, questions: int, chat: ChatModel, embedder: TokenEmbedder) -> list[str]:
    faq = FAQ_SETS[name]()[:questions]
    index, shown = FaqIndex(FAQ_SETS[name](), embedder), KnowledgeSettings().context_chunks
    first = dict.fromkeys(STRATEGIES, 0)
    in_two = dict.fromkeys(STRATEGIES, 0)
    ceiling = 0
    for entry in faq:
        hits = index.search(entry.question)[:shown]
        text, sources = model_answer(chat, entry.question, hits)
        answer = np.asarray(embedder.embed([text or "-"])[0], dtype=np.float32)
        vectors = index.refresh().vectors[[h.row for h in hits]]
        ceiling += entry.doc_id in {h.passage.doc_id for h in hits}
        for strategy, pick in STRATEGIES.items():
            docs = [
                hits[i].passage.doc_id for i in pick(hits, vectors, answer, sources, entry.question)
            ]
            first[strategy] += docs[:1] == [entry.doc_id]
            in_two[strategy] += entry.doc_id in docs[:2]
    n = len(faq)
    return [
        f"### {name} ({n} questions; the right entry was among the {shown} shown for {ceiling})",
        "",
        "| citation strategy | first citation right | right entry in the first two |",
        "|---|---:|---:|",
        *(f"| {s} | {share(first[s], n)} | {share(in_two[s], n)} |" for s in STRATEGIES),
        "",
    ]


def share(count: int, total: int) -> str:
    return f"{count / total:.2f} ({count}/{total})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40, help="answered per FAQ set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = StreamwiseSettings(data_dir=Path(data_dir))
        chat, embedder = backends.chat_model(settings), backends.embedder(settings)
        lines = [line for name in FAQ_SETS for line in measure(name, args.questions, chat,
                                                               embedder)]  # fmt: skip
    lines.append(f"Model: {chat.model_id}; encoder: {embedder.model_id}.")
    body = "\n".join(lines)
    print(body)
    write_section("citations", body)


if __name__ == "__main__":
    main()
