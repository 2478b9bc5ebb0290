from __future__ import annotations

from pipelines.common.grounding import unsupported_names, unsupported_numbers

FACTS = (
    '{"rule":"impossible_travel","reasons":["card present in Montréal (CA) and Kaduna (NG) '
    '27 min 59 s apart: 8 474 km at 18 170 km/h, above the 900 km/h limit"],'
    '"distance_km":8474.2,"speed_kmh":18170.0}'
)


def test_figures_are_compared_by_value_and_invented_ones_named() -> None:
    assert unsupported_numbers("8,474.2 km at 18170 km/h, 27 min", [FACTS]) == []
    assert unsupported_numbers("40 seconds, then 40 more and 123 days", [FACTS]) == ["40", "123"]


def test_names_inside_sentences_must_be_in_the_sources_but_sentence_starts_are_free() -> None:
    copied = "The card was used in London and then in Paris. Check whether it was cloned."
    assert unsupported_names(copied, [FACTS]) == ["London", "Paris"]
    assert unsupported_names("Seen in Montréal, then Kaduna. Call the customer.", [FACTS]) == []
