"""An administrator's commands on user accounts, each recorded as an audit event (who, what, when).

Passwords never appear in an event; role changes record the roles before and after. The
caller's session holds the command's unit of work and commits once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.login_throttle import record_account_event
from engine.accounts.password_rules import password_problems
from engine.errors import EngineError
from engine.models import User, UserRole
from engine.users import create_user, get_user, hash_password

USER_CREATED = "user_created"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
PASSWORD_RESET = "password_reset"
ROLES_CHANGED = "roles_changed"
ACCOUNT_EVENTS = (USER_CREATED, USER_DISABLED, USER_ENABLED, PASSWORD_RESET, ROLES_CHANGED)


class PasswordRejected(EngineError):
    """A new password breaks the password rules; ``problems`` holds the rules' codes."""

    code = "password_rejected"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the password breaks these rules: " + ", ".join(problems), problems=problems)
        self.problems = problems


def check_new_password(password: str, username: str) -> None:
    """Refuse a new password that breaks the password rules."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(problems)


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def create_account(
    session: Session,
    username: str,
    password: str,
    roles: Iterable[str],
    known_roles: frozenset[str],
    display_name: str | None,
    by: str,
) -> User:
    """Create a user with a password that keeps the rules (audited)."""
    check_new_password(password, username)
    user = create_user(session, username, password, roles, known_roles, display_name or None)
    record_account_event(
        session, USER_CREATED, by, {"username": user.username, "roles": sorted(user.role_keys)}
    )
    return user


def set_active(session: Session, username: str, active: bool, by: str) -> User:
    """Disable (no more log-ins, open sessions end) or enable a user (audited)."""
    user = get_user(session, username)
    if user.username == by and not active:
        raise EngineError("you cannot disable your own account", reason="self")
    if user.active != active:
        user.active = active
        record_account_event(session, USER_ENABLED if active else USER_DISABLED, by, {"username": username})
    return user


def reset_password(session: Session, username: str, password: str, by: str) -> User:
    """Give a user a new password that keeps the rules (audited, the password is not recorded)."""
    user = get_user(session, username)
    check_new_password(password, username)
    user.password_hash = hash_password(password)
    record_account_event(session, PASSWORD_RESET, by, {"username": username})
    return user


def set_roles(
    session: Session, username: str, roles: Iterable[str], known_roles: frozenset[str], by: str
) -> User:
    """Replace a user's roles (audited with the roles before and after)."""
    user = get_user(session, username)
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in known_roles]
    if unknown:
        raise EngineError(f"unknown role(s): {', '.join(unknown)}", reason="unknown_role")
    before = sorted(user.role_keys)
    if before != wanted:
        kept = [held for held in user.roles if held.role in wanted]
        user.roles = kept + [UserRole(role=role) for role in wanted if role not in before]
        session.flush()
        record_account_event(
            session, ROLES_CHANGED, by, {"username": username, "before": before, "after": wanted}
        )
    return user
