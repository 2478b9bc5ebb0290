"""Answer one question: wait for required versions, retrieve, ask the model, check, cite.

I/O (the replica, the embedder, the chat model, the clock) is passed in; the
steps it calls (retrieval, prompt, post-check) are pure. Every question gets
exactly one answer record: ``ok``, ``no_context`` (nothing relevant retrieved)
or ``rejected`` with a ``reason`` (the model's output failed the post-check, or
the index did not reach ``min_versions`` in time). An answer stating a figure that
neither the question nor the passages it cites state as that kind of figure (a phone
number's "123" is not "123 days"), or a model output that is not the answer object at
all (it ran on to its token budget), is replaced by the source sentence that answers
the question (``ok``, with the ``reason``), or rejected when no sentence plainly does.
An answer cites the passages its content comes from, by evidence and not by the model's
own pick, at most ``KNOWLEDGE_MAX_CITATIONS`` (``citations``); an answer no passage shown
supports is quoted from the sources instead, or rejected.
Model and Chroma outages are raised, not answered: the pipeline's stage retries them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from models import ChatModel, Embedder, ModelOutputInvalid
from pipelines.common.events import Answer, Citation, Question
from pipelines.common.text.grounding import unsupported_numbers
from pipelines.common.text.pii import mask_pans
from pipelines.knowledge.citations import cite
from pipelines.knowledge.postcheck import check_answer, parse_lenient, quote_for
from pipelines.knowledge.prompt import build_prompt
from pipelines.knowledge.replica import Snapshot, SnapshotSource
from pipelines.knowledge.retrieval import Scored, hybrid_search
from pipelines.knowledge.settings import KnowledgeSettings

logger = logging.getLogger(__name__)

NO_CONTEXT_ANSWER = "I could not find this in the knowledge base."
QUOTED = "quoted from the source: "  # how the reason of a quoted answer starts
_POLL_S = 0.05


def requested_versions(question: Question) -> dict[str, int]:
    """``min_versions`` of a question (an optional field: doc id -> version)."""
    raw = getattr(question, "min_versions", None) or {}
    if not isinstance(raw, dict):
        msg = f"min_versions must be an object of doc id -> version, got {raw!r:.80}"
        raise ValueError(msg)
    return {str(doc): int(version) for doc, version in raw.items()}


class Answerer:
    """Turns a question (and the asker's profile, if any) into an ``Answer``."""

    def __init__(
        self,
        replica: SnapshotSource,
        embedder: Embedder,
        chat: ChatModel,
        knowledge: KnowledgeSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._replica, self._embedder, self._chat = replica, embedder, chat
        self._knowledge, self._clock, self._sleep = knowledge, clock, sleep

    def answer(self, question: Question, profile: dict[str, Any] | None = None) -> Answer:
        started = self._clock()
        limit = self._knowledge.max_question_chars
        if len(question.text) > limit:
            # Beyond the model's context a question crowds out the passages and instructions
            # (a classic injection carrier); cutting it would answer a question never asked.
            reason = f"question is {len(question.text)} characters; at most {limit} are answered"
            return self._reply(question, self._replica.refresh(), started, "rejected",
                               reason=reason)  # fmt: skip
        snapshot, missing = self._wait_for(question)
        if missing:
            reason = "index has not applied " + ", ".join(
                f"{doc} v{want} (has {'none' if have is None else f'v{have}'})"
                for doc, (want, have) in sorted(missing.items())
            )
            return self._reply(question, snapshot, started, "rejected", reason=reason)

        retrieval_started = self._clock()
        query = mask_pans(question.text)
        [vector] = self._embedder.embed([query])
        hits = hybrid_search(
            snapshot.passages,
            snapshot.vectors,
            snapshot.bm25,
            vector,
            query,
            candidates=self._knowledge.candidates,
        )[: self._knowledge.context_chunks]
        retrieval_ms = (self._clock() - retrieval_started) * 1000
        if not hits or max(h.dense for h in hits) < self._knowledge.min_relevance:
            return self._reply(
                question, snapshot, started, "no_context", text=NO_CONTEXT_ANSWER,
                retrieval_ms=retrieval_ms,
            )  # fmt: skip

        prompt = build_prompt(
            query,
            [h.passage for h in hits],
            profile=profile,
            context_chars=self._knowledge.context_chars,
        )
        try:
            output = self._chat.complete_json(prompt.system, prompt.user, prompt.schema)
        except ModelOutputInvalid as exc:
            recovered = parse_lenient(exc.raw)
            if recovered is None:  # e.g. ran on to max_tokens: the passages still answer
                return self._quote_instead(
                    question, snapshot, started, hits, query=query,
                    why=f"model output invalid: {exc.reason}", retrieval_ms=retrieval_ms,
                )  # fmt: skip
            output = recovered
        verdict = check_answer(output, len(prompt.passages), prompt.system)
        if not verdict.ok:
            return self._reply(
                question, snapshot, started, "rejected",
                reason=verdict.reason, retrieval_ms=retrieval_ms,
            )  # fmt: skip
        text = str(output["answer"])
        [answer_vector] = self._embedder.embed([text])
        cited = tuple(hits[i] for i in cite(
            np.asarray(answer_vector, dtype=np.float32),
            snapshot.vectors[[h.row for h in hits]],
            [h.dense for h in hits],
            most=self._knowledge.max_citations,
        ))  # fmt: skip
        if not cited:
            why = "no passage shown supports the model's answer"
            return self._quote_instead(
                question, snapshot, started, hits, query=query, why=why, retrieval_ms=retrieval_ms
            )
        # Only what it cites vouches for a figure: a passage shown but not cited proves nothing.
        invented = unsupported_numbers(text, [query, *(h.passage.text for h in cited)])
        if invented:
            why = (
                f"the model's answer stated {', '.join(invented)}, which its cited passages do not"
            )
            return self._quote_instead(
                question, snapshot, started, hits, query=query, why=why, retrieval_ms=retrieval_ms
            )
        return self._reply(
            question, snapshot, started, "ok", text=mask_pans(text), cited=cited,
            retrieval_ms=retrieval_ms,
        )  # fmt: skip

    def _quote_instead(
        self,
        question: Question,
        snapshot: Snapshot,
        started: float,
        hits: list[Scored],
        *,
        query: str,
        why: str,
        retrieval_ms: float,
    ) -> Answer:
        """The model's answer is unusable (``why``): quote the passage that answers, or reject.

        A wrong number in a policy answer ("123 days" for a 30-day refund) is worse than
        no answer, and so is an answer that ran on to its token budget; the sentence that
        plainly answers the question is better than both.
        """
        found = quote_for(query, [h.passage.text for h in hits])
        if found is None:
            return self._reply(
                question, snapshot, started, "rejected", reason=why, retrieval_ms=retrieval_ms
            )
        index, sentence = found
        return self._reply(
            question, snapshot, started, "ok", text=mask_pans(sentence), cited=(hits[index],),
            reason=QUOTED + why, retrieval_ms=retrieval_ms,
        )  # fmt: skip

    def _wait_for(self, question: Question) -> tuple[Snapshot, dict[str, tuple[int, int | None]]]:
        """The replica once it holds ``min_versions`` (or the deadline passed: what is missing)."""
        wanted = requested_versions(question)
        wait_s = min(float(getattr(question, "wait_s", None) or 0), self._knowledge.max_wait_s)
        deadline = self._clock() + (wait_s if wanted else 0)
        while True:
            snapshot = self._replica.refresh()
            missing = {
                doc: (want, snapshot.versions.get(doc, _applied(snapshot, doc)))
                for doc, want in wanted.items()
                if _reached(snapshot, doc) < want
            }
            if not missing or self._clock() >= deadline:
                return snapshot, missing
            self._sleep(_POLL_S)

    def _reply(
        self,
        question: Question,
        snapshot: Snapshot,
        started: float,
        status: str,
        *,
        text: str = "",
        cited: tuple[Scored, ...] = (),
        reason: str | None = None,
        retrieval_ms: float | None = None,
    ) -> Answer:
        citations = [
            Citation(
                doc_id=h.passage.doc_id,
                version=snapshot.versions[h.passage.doc_id],
                chunk_id=h.passage.chunk_id,
            )
            for h in cited
        ]
        return Answer.model_validate(
            {
                "question_id": question.question_id,
                "answer": text,
                "citations": citations,
                "index_version": snapshot.manifest.index_version,
                "model": self._chat.model_id,
                "latency_ms": round((self._clock() - started) * 1000, 1),
                "status": status,
                "reason": reason,
                "retrieval_ms": round(retrieval_ms, 1) if retrieval_ms is not None else None,
            }
        )


def _applied(snapshot: Snapshot, doc_id: str) -> int | None:
    doc = snapshot.manifest.documents.get(doc_id)
    return doc.version if doc is not None else None


def _reached(snapshot: Snapshot, doc_id: str) -> int:
    """The version of ``doc_id`` this snapshot answers from (a deletion counts once applied)."""
    doc = snapshot.manifest.documents.get(doc_id)
    if doc is not None and doc.deleted:
        return doc.version
    return snapshot.versions.get(doc_id, -1)
