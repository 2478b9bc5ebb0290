"""Citations follow the evidence: the passages an answer's content comes from (pure)."""

from __future__ import annotations

from pipelines.knowledge.citations import supporting_passages

QUESTION = "How many days until I get my refund?"
PASSAGES = [
    "Refund policy\n\nRefunds for gift cards are not possible; a gift card stays valid.",
    "Refund policy\n\nRefunds are paid within 30 days of the returned item reaching our warehouse.",
    "Shipping times\n\nStandard shipping takes 3 to 5 working days.",
]


def test_an_answer_taken_from_the_second_passage_cites_it_first() -> None:
    answer = "Your refund is paid within 30 days of the item reaching the warehouse."

    assert supporting_passages(answer, QUESTION, PASSAGES, limit=2) == [1]


def test_the_models_own_sources_only_break_ties() -> None:
    answer = "Refunds are paid within 30 days of the return reaching the warehouse."

    assert supporting_passages(answer, QUESTION, PASSAGES, limit=2, hinted={0, 2}) == [1]


def test_a_second_passage_is_cited_only_for_what_the_first_lacks() -> None:
    answer = (
        "Refunds are paid within 30 days of the item reaching our warehouse; standard "
        "shipping takes 3 to 5 working days."
    )

    assert supporting_passages(answer, QUESTION, PASSAGES, limit=2) == [1, 2]
    assert supporting_passages(answer, QUESTION, PASSAGES, limit=1) == [1]


def test_an_answer_no_passage_holds_cites_nothing() -> None:
    assert supporting_passages("Ask the store manager tomorrow.", QUESTION, PASSAGES, limit=2) == []
    assert supporting_passages("Yes.", QUESTION, PASSAGES, limit=2) == []  # nothing to judge by
    assert supporting_passages("Paid in 30 days.", QUESTION, [], limit=2) == []


def test_words_the_question_already_had_do_not_decide() -> None:
    """Every passage retrieved for a refund question says 'refund': the '30 days' tells."""
    answer = "A refund takes 30 days."

    assert supporting_passages(answer, QUESTION, PASSAGES, limit=2) == [1]
