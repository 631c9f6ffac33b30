"""Password rules for new passwords: length, not the user name, not a common password."""

from __future__ import annotations

import pytest

from engine.accounts.password_rules import (
    COMMON,
    CONTAINS_USERNAME,
    MIN_LENGTH,
    TOO_LONG,
    TOO_SHORT,
    common_passwords,
    password_problems,
)


@pytest.mark.parametrize(
    ("password", "username", "problems"),
    [
        ("晨光-仓库-2026-春", "wh9", []),
        ("correct horse battery", "cs1", []),
        ("short", "cs1", [TOO_SHORT]),
        ("x" * 257, "cs1", [TOO_LONG]),
        ("Zhangwei-2026-long", "zhangwei", [CONTAINS_USERNAME]),
        ("ZHANGWEI-2026-long", "zhangwei", [CONTAINS_USERNAME]),
        ("1qaz2wsx3edc", "cs1", [COMMON]),
        ("Password123", "cs1", [COMMON]),
        ("woaini1314!", "cs1", [COMMON]),
        ("qwerty", "qwerty", [TOO_SHORT, CONTAINS_USERNAME, COMMON]),
    ],
)
def test_password_problems_name_every_broken_rule(password: str, username: str, problems: list[str]) -> None:
    assert password_problems(password, username) == problems


def test_the_rules_follow_nist_800_63b_defaults() -> None:
    assert MIN_LENGTH >= 8
    assert len(common_passwords()) > 80
    assert all(word == word.casefold() for word in common_passwords())
    # No composition rules: a long passphrase of letters and spaces is fine.
    assert password_problems("the quiet river at dawn", "cs1") == []
