"""PII masking: card numbers, e-mails and phone numbers never leave in clear."""

from __future__ import annotations

import pytest

from pipelines.common.text.pii import mask_pans, mask_pii


@pytest.mark.parametrize(
    "pan", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"]
)
def test_card_numbers_keep_only_their_last_four_digits(pan: str) -> None:
    masked = mask_pans(f"my card {pan} was charged twice")
    assert masked == f"my card [card ****{pan[-4:]}] was charged twice"


def test_digit_runs_that_fail_luhn_are_left_alone() -> None:
    assert mask_pans("order 4111111111111112 shipped") == "order 4111111111111112 shipped"


def test_emails_and_phone_numbers_are_replaced() -> None:
    text = "write to jane.doe+shop@example.co.uk or call +44 20 7946 0958 (card 5555555555554444)"
    assert mask_pii(text) == "write to [email] or call [phone] (card [card ****4444])"


def test_ordinary_numbers_survive() -> None:
    text = "waited 45 minutes, order #1234, rated 2 of 5 on 2026-11-22"
    assert mask_pii(text) == text
