"""Personal access tokens: what a program presents instead of a password, stored only as a hash.

A token is 32 random bytes, so a plain SHA-256 of it cannot be guessed back (unlike a password,
it needs no slow hash); only its first characters are kept readable, so a user can tell tokens
apart on the settings page. A token acts as its user with the user's current roles, never more;
the ``read`` scope further limits it to reading.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import clock
from engine.errors import EngineError, NotFound
from engine.store.database import Base
from engine.store.models import User, UTCDateTime

SCOPES = ("read", "write")
PREFIX = "afp_"
#: The characters of a token kept readable, so its owner can tell it from the others.
SHOWN = 10
MAX_NAME = 100
MAX_DAYS = 3650


class AccessToken(Base):
    """One personal access token of a user (the token itself is never stored)."""

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shown: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship(lazy="joined")

    def usable(self, now: datetime) -> bool:
        """Tell whether the token may still be used: not revoked, not expired, its user active."""
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and bool(self.user.active)
        )


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret (shown once) and the stored row's id."""

    id: int
    secret: str
    name: str
    scope: str
    expires_at: datetime | None


class TokenInvalid(EngineError):
    """The token's name, scope or lifetime is not acceptable."""

    code = "token_invalid"


def digest(secret: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session, username: str, name: str = "", scope: str = "write", expires_days: int | None = None
) -> IssuedToken:
    """Create a token for an active user; the secret is returned here and never again."""
    name = " ".join(name.split()) or "token"
    if len(name) > MAX_NAME:
        raise TokenInvalid(f"a token name has at most {MAX_NAME} characters")
    if scope not in SCOPES:
        raise TokenInvalid(f"the scope must be one of {', '.join(SCOPES)}")
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise TokenInvalid(f"a token lasts from 1 to {MAX_DAYS} days")
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"no active user named '{username}'")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    row = AccessToken(
        user_id=user.id,
        name=name,
        scope=scope,
        token_hash=digest(secret),
        shown=secret[:SHOWN],
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, secret, name, scope, expires_at)


def tokens_of(session: Session, username: str) -> list[AccessToken]:
    """Return a user's tokens, newest first (revoked ones included, for the record)."""
    return list(
        session.scalars(
            select(AccessToken)
            .join(User, AccessToken.user_id == User.id)
            .where(User.username == username)
            .order_by(AccessToken.id.desc())
        )
    )


def revoke_token(session: Session, token_id: int, username: str) -> None:
    """Revoke one of the user's tokens (revoking twice changes nothing)."""
    row = session.get(AccessToken, token_id)
    if row is None or row.user.username != username:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = clock.now()


def token_user(session: Session, secret: str) -> AccessToken | None:
    """Return the usable token presented, noting its use; None when unknown, revoked or expired."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    row = session.scalar(select(AccessToken).where(AccessToken.token_hash == digest(secret)))
    now = clock.now()
    if row is None or not row.usable(now):
        return None
    row.last_used_at = now
    return row
