"""The knowledge part of ``streamwise demo``: a policy changes, and answers follow it.

Seed: three help-centre documents. Then a customer asks about refunds and gets
the 30-day answer citing v1; the refund policy is changed to 45 days; the same
question, asked again with ``min_versions`` so it waits for the change, cites v2.
Later, the shipping page is withdrawn and a shipping question finds nothing that
answers it: ``no_context``, or ``rejected`` with the reason (never the old page).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pipelines.common.events import KbChange, Question
from pipelines.common.settings import StreamwiseSettings
from pipelines.scenarios.base import Render, Scenario, Send

REFUNDS = (
    "# Time limits\n\nRefunds are paid within {days} days of the returned item reaching our "
    "warehouse.\n\n# Method\n\nRefunds go back to the card used for the purchase."
)
SHIPPING = "Standard shipping takes 3 to 5 working days. Express shipping arrives the next day."
WARRANTY = "Electronics carry a two-year warranty. Keep the receipt as proof of purchase."
REFUND_QUESTION = "How many days until my refund is paid?"
SHIPPING_QUESTION = "How long does express shipping take?"


def _doc(doc_id: str, version: int, title: str | None = None, text: str | None = None) -> Send:
    op: Literal["upsert", "delete"] = "upsert" if text else "delete"
    change = KbChange(doc_id=doc_id, version=version, op=op, ts=datetime.now(UTC),
                      title=title, text=text)  # fmt: skip
    return Send("kb-changes", doc_id, change.to_json_dict())


def _question(qid: str, text: str, at_s: float, **extra: Any) -> Send:
    question = Question(question_id=qid, text=text, ts=datetime.now(UTC), **extra)
    return Send("questions", qid, question.to_json_dict(), at_s)


def render_answer(answer: dict[str, Any]) -> str | None:
    """One line per answer: status, text and what it cites."""
    cites = ", ".join(f"{c['doc_id']} v{c['version']}" for c in answer.get("citations", []))
    text = answer.get("answer") or answer.get("reason") or ""
    return (
        f"answer {answer.get('question_id')} [{answer.get('status')}] {text!r:.90}"
        f" cites: {cites or 'nothing'} ({answer.get('latency_ms', 0):.0f} ms)"
    )


@dataclass
class KnowledgeScenario:
    title: str = "Knowledge base: answers that follow a policy change"
    pipelines: Sequence[str] = ("knowledge", "rag")
    watch: dict[str, Render] = field(default_factory=lambda: {"answers": render_answer})

    def events(self, seconds: float) -> Iterator[Send]:
        """Seed documents, then questions before and after a change and a deletion."""
        yield _doc("refunds", 1, "Refund policy", REFUNDS.format(days=30))
        yield _doc("shipping", 1, "Shipping times", SHIPPING)
        yield _doc("warranty", 1, "Warranty", WARRANTY)
        step = max(seconds / 5, 2.0)
        yield _question("kb-q1", REFUND_QUESTION, step, min_versions={"refunds": 1}, wait_s=30)
        change = _doc("refunds", 2, "Refund policy", REFUNDS.format(days=45))
        yield Send(change.topic, change.key, change.value, 2 * step)
        yield _question("kb-q2", REFUND_QUESTION, 2 * step, min_versions={"refunds": 2}, wait_s=30)
        withdrawn = _doc("shipping", 2)
        yield Send(withdrawn.topic, withdrawn.key, withdrawn.value, 3 * step)
        yield _question(
            "kb-q3", SHIPPING_QUESTION, 3 * step, min_versions={"shipping": 2}, wait_s=30
        )

    def summary(self, outputs: dict[str, list[dict[str, Any]]]) -> list[str]:
        answers = {a.get("question_id"): a for a in outputs.get("answers", [])}
        lines = [f"knowledge: {len(answers)} answer(s)"]
        for qid, what in (("kb-q1", "before the change"), ("kb-q2", "after the change"),
                          ("kb-q3", "after the shipping page was withdrawn")):  # fmt: skip
            answer = answers.get(qid)
            lines.append(f"  {what}: {render_answer(answer) if answer else 'no answer yet'}")
        return lines


def scenario(settings: StreamwiseSettings) -> Scenario:
    """The knowledge scenario (``settings`` unused: the story needs no tuning)."""
    return KnowledgeScenario()
