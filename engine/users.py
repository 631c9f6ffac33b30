"""Users, their roles, and password hashing (scrypt from the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import EngineError, NotFound
from engine.models import User, UserRole

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Actor:
    """Who issues a command, and with which roles."""

    username: str
    roles: frozenset[str]

    @classmethod
    def system(cls) -> Actor:
        """The actor for work the engine does on its own (timers)."""
        return cls("system", frozenset())

    @classmethod
    def of(cls, user: User) -> Actor:
        """The actor for a stored user."""
        return cls(user.username, user.role_keys)


def hash_password(password: str) -> str:
    """Return a salted scrypt hash of the password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt${}${}${}${}${}".format(
        _SCRYPT["n"],
        _SCRYPT["r"],
        _SCRYPT["p"],
        base64.b64encode(salt).decode(),
        base64.b64encode(digest).decode(),
    )


def verify_password(password: str, stored: str) -> bool:
    """Tell whether the password matches the stored hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(computed, base64.b64decode(digest))


def create_user(
    session: Session,
    username: str,
    password: str,
    roles: Iterable[str],
    known_roles: frozenset[str],
    display_name: str | None = None,
    replace: bool = False,
) -> User:
    """Create (or with ``replace`` update) a user with these roles."""
    username = username.strip()
    if not username or len(username) > 64:
        raise EngineError("a user name needs 1 to 64 characters", reason="name_length")
    role_list = sorted(set(roles))
    unknown = [r for r in role_list if r not in known_roles]
    if unknown:
        raise EngineError(
            f"unknown role(s): {', '.join(unknown)}; known roles: {', '.join(sorted(known_roles))}",
            reason="unknown_role",
        )
    user = session.scalar(select(User).where(User.username == username))
    if user is not None and not replace:
        raise EngineError(f"user '{username}' already exists", reason="exists")
    if user is None:
        user = User(username=username, created_at=clock.now(), active=True)
        session.add(user)
    user.display_name = display_name or username
    user.password_hash = hash_password(password)
    user.roles = [UserRole(role=r) for r in role_list]
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with this name and password, or None.

    An unknown or disabled user name still costs one hash check, so the time of the answer
    does not tell whether the name exists.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    stored = user.password_hash if user is not None else _dummy_hash()
    matches = verify_password(password, stored)
    if user is None or not user.active or not matches:
        return None
    return user


@cache
def _dummy_hash() -> str:
    # A hash of a random password with the same cost as real ones; nobody can match it.
    return hash_password(secrets.token_urlsafe(32))


def users_with_role(session: Session, role: str) -> list[User]:
    """Return the active users holding a role, by name."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.active.is_(True))
            .order_by(User.username)
        )
    )


def get_user(session: Session, username: str) -> User:
    """Return the user with this name."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named '{username}'")
    return user
