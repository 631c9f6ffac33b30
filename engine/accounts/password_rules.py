"""What a new password must be: long enough, not the user name, not a commonly used password.

The rules follow NIST SP 800-63B: a minimum length and a block list instead of composition
rules (no forced digits or symbols, no expiry). Each problem is a code; the web and the command
line say it in the user's language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 256
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
CONTAINS_USERNAME = "contains_username"
COMMON = "common"

_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """Return the block list of commonly used passwords (lower case)."""
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str) -> list[str]:
    """Return the codes of every rule a new password breaks ([] when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        problems.append(TOO_LONG)
    folded, name = password.casefold(), username.strip().casefold()
    if name and (name in folded or folded in name):
        problems.append(CONTAINS_USERNAME)
    if folded in common_passwords() or folded.rstrip("0123456789!.") in common_passwords():
        problems.append(COMMON)
    return problems
