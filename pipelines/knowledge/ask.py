"""``streamwise ask``: publish one question, print its answer with citations."""

from __future__ import annotations

from pipelines.common.events import Answer
from pipelines.common.settings import StreamwiseSettings
from pipelines.knowledge.replies import AnswerRouter


def ask(
    settings: StreamwiseSettings,
    text: str,
    *,
    customer_id: str | None = None,
    min_versions: dict[str, int] | None = None,
    timeout_s: float = 60.0,
) -> Answer:
    """Ask the running RAG pipeline and wait for its answer (``AnswerTimeout`` if none)."""
    router = AnswerRouter(settings)
    try:
        return router.ask(
            text, customer_id=customer_id, min_versions=min_versions, timeout_s=timeout_s
        )
    finally:
        router.close()


def format_answer(answer: Answer) -> str:
    """The answer for a terminal: text, status, then one line per citation."""
    lines = [answer.answer or "(no answer)"]
    status = f"status: {answer.status}"
    reason = getattr(answer, "reason", None)
    if reason:
        status += f" ({reason})"
    index = f"index version {answer.index_version} (the sum of the document versions applied)"
    lines += ["", f"{status} · {index} · {answer.model} · {answer.latency_ms:.0f} ms"]
    if answer.citations:
        lines.append("sources:")
        lines += [
            f"  [{n}] {c.doc_id} v{c.version} ({c.chunk_id})"
            for n, c in enumerate(answer.citations, start=1)
        ]
    return "\n".join(lines)
