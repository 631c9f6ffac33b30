"""The portal's challenge: a small sum whose operands travel signed in the form, so no state is kept.

The signature (the app's secret key) stops a client from choosing its own question; the age limit
stops an old answered form from being replayed for ever. It keeps out scripts that post blindly,
not a determined person — the rate limits per address do the rest. No outside captcha service.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "afterflow.portal.challenge"
#: How long a form's question may be answered.
MAX_AGE_SECONDS = 2 * 60 * 60


@dataclass(frozen=True)
class Challenge:
    """A question to show and the signed token that comes back with the answer."""

    first: int
    second: int
    token: str


def _signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def new_challenge(secret_key: str) -> Challenge:
    """Return a fresh sum to ask."""
    first, second = 2 + secrets.randbelow(18), 2 + secrets.randbelow(18)
    token = _signer(secret_key).dumps({"a": first, "b": second, "n": secrets.token_hex(4)})
    return Challenge(first, second, token)


def is_answered(secret_key: str, token: str, answer: str) -> bool:
    """Tell whether ``answer`` is the sum the signed ``token`` asked, within its age."""
    try:
        asked = _signer(secret_key).loads(token, max_age=MAX_AGE_SECONDS)
        expected = int(asked["a"]) + int(asked["b"])
    except (BadData, KeyError, TypeError, ValueError):
        return False
    return answer.strip() == str(expected)
