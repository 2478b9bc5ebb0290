"""The tokens file: parsed strictly, holding hashes only, and scopes that cannot widen."""

from __future__ import annotations

import pytest

from pipelines.common.auth import (
    Principal,
    TokensFileInvalid,
    digest,
    new_token,
    parse_tokens,
)


def test_a_new_token_is_admitted_by_its_line_and_the_line_holds_only_its_hash() -> None:
    token, line = new_token("agent-7", "staff")
    assert token not in line
    assert line == f"agent-7 staff {digest(token)}\n"
    assert parse_tokens(line, "tokens") == {digest(token): Principal("agent-7", "staff")}
    assert new_token("agent-7", "staff")[0] != token, "every token is fresh"


def test_comments_and_blank_lines_are_ignored() -> None:
    _, line = new_token("app", "customer:c-1")
    text = f"# issued 2026-12-01\n\n{line.strip()}  # the bank's app\n"
    (principal,) = parse_tokens(text, "tokens").values()
    assert principal == Principal("app", "customer:c-1")
    assert principal.customer_id == "c-1"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("agent staff", "tokens:2: want NAME SCOPE SHA256"),
        ("agent admin " + "0" * 64, "tokens:2: scope 'admin' is neither 'staff' nor"),
        ("agent customer: " + "0" * 64, "tokens:2: scope 'customer:' is neither"),
        ("agent staff secret-token", "tokens:2: the third field must be the token's hex SHA-256"),
        ("agent/x staff " + "0" * 64, "tokens:2: name 'agent/x' may hold only"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(line: str, reason: str) -> None:
    with pytest.raises(TokensFileInvalid, match="^" + reason.replace("(", r"\(")):
        parse_tokens("# header\n" + line + "\n", "tokens")


def test_staff_ask_for_anyone_a_customer_only_for_itself_or_no_one() -> None:
    staff, customer = Principal("agent", "staff"), Principal("app", "customer:c-1")
    assert staff.may_ask_for("c-2")
    assert staff.may_ask_for(None)
    assert customer.may_ask_for("c-1")
    assert customer.may_ask_for(None)
    assert not customer.may_ask_for("c-2")
    assert not customer.may_ask_for("")
