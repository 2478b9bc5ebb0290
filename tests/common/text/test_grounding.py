from __future__ import annotations

import random

from pipelines.common.text import grounding
from pipelines.common.text.grounding import unsupported_names, unsupported_numbers

FACTS = (
    '{"rule":"impossible_travel","reasons":["card present in Montréal (CA) and Kaduna (NG) '
    '27 min 59 s apart: 8 474 km at 18 170 km/h, above the 900 km/h limit"],'
    '"distance_km":8474.2,"speed_kmh":18170.0}'
)
FEES = "From 01.01.2027 the fee is 2.5 percent"
CONTACT = "To request a refund, call 0800 123 456."
REFUNDS = "Refunds are accepted within 30 days of purchase."


def test_figures_are_compared_by_value_and_invented_ones_named() -> None:
    assert unsupported_numbers("8,474 km at 18170 km/h, 27 min, 8474.2", [FACTS]) == []
    assert unsupported_numbers("40 seconds, then 40 more and 123 days", [FACTS]) == [
        "40 seconds",
        "40",
        "123 days",
    ]


def test_a_document_with_a_dotted_date_is_read_not_raised_on() -> None:
    assert unsupported_numbers("The fee is 2.5 percent from 01.01.2027.", [FEES]) == []
    assert unsupported_numbers("The fee is 3 percent from 01.02.2027.", [FEES]) == [
        "3 percent",
        "01.02.2027",
    ]


def test_a_dotted_id_in_the_answer_is_one_identifier() -> None:
    assert unsupported_numbers("See rule 1.11.11.2018.", [FEES]) == ["1.11.11.2018"]
    assert unsupported_numbers("See rule 1.11.11.2018.", ["Rule 1.11.11.2018 applies."]) == []


def test_a_phone_number_does_not_support_a_duration() -> None:
    """The README's example: '123 days' for a 30-day refund, '123' being in a phone number."""
    assert unsupported_numbers("You have 123 days.", [REFUNDS, CONTACT]) == ["123 days"]
    assert unsupported_numbers("Call 0800 123 456 within 30 days.", [REFUNDS, CONTACT]) == []


def test_a_duration_needs_its_own_value_not_any_two_in_the_source() -> None:
    """'2 days' passed for a 5-day refund: a '2' stood elsewhere in the source."""
    source = "Refunds take 5 working days. Card fees of EUR 2 are not refunded."
    assert unsupported_numbers("Refunds take 2 days.", [source]) == ["2 days"]
    assert unsupported_numbers("Refunds take 5 days; the EUR 2 fee stays.", [source]) == []


def test_each_kind_of_figure_is_told_apart() -> None:
    text = (
        "From 2027-01-01, version 3.2.1 of the app at 192.0.2.10 opens 9:00-17:00; "
        "call +44 20 7946 0958 about error E42: 3 to 5 working days, a 30-day window, "
        "EUR 25, $5, 2.5 % and 1,250 customers"
    )
    assert [(f.text, f.kind, f.unit) for f in grounding.figures(text)] == [
        ("2027-01-01", "date", None),
        ("3.2.1", "version", None),
        ("192.0.2.10", "ip", None),
        ("9:00", "time", None),
        ("17:00", "time", None),
        ("+44 20 7946 0958", "phone", None),
        ("E42", "code", None),
        ("3", "quantity", "day"),
        ("5 working days", "quantity", "day"),
        ("30-day", "quantity", "day"),
        ("EUR 25", "quantity", "eur"),
        ("$5", "quantity", "usd"),
        ("2.5 %", "quantity", "percent"),
        ("1,250 customers", "quantity", "customer"),
    ]


def test_units_are_compared_by_meaning_and_a_bare_number_by_value() -> None:
    assert unsupported_numbers("2.5%, 25 euros, 30 days, 3 days", [FEES, REFUNDS,
                               "EUR 25 within 3-5 days"]) == []  # fmt: skip
    assert unsupported_numbers("30 percent", [REFUNDS]) == ["30 percent"]
    assert unsupported_numbers("It is 30.", [REFUNDS]) == []
    assert unsupported_numbers("Since 2027.", [FEES]) == ["2027"]  # a date's fragment


def test_no_text_makes_the_check_raise() -> None:
    rng = random.Random(12)
    alphabet = "0123456789" * 3 + ".,:/-+ $€%()@" + "EURdays x"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert isinstance(unsupported_numbers(text, [text[::-1], FEES]), list)
    assert unsupported_numbers("9" * 5000, ["1.1.1.1." * 500]) == ["9" * 5000]


def test_names_inside_sentences_must_be_in_the_sources_but_sentence_starts_are_free() -> None:
    copied = "The card was used in London and then in Paris. Check whether it was cloned."
    assert unsupported_names(copied, [FACTS]) == ["London", "Paris"]
    assert unsupported_names("Seen in Montréal, then Kaduna. Call the customer.", [FACTS]) == []
