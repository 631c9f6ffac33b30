"""Users and roles: hashed passwords, several roles, clear refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.accounts.users import authenticate, create_user, hash_password, users_with_role, verify_password
from engine.errors import EngineError
from engine.runtime import Engine
from engine.store.models import User
from processes.roles import ROLE_KEYS


def test_passwords_are_stored_salted_and_verified() -> None:
    first, second = hash_password("demo"), hash_password("demo")
    assert first != second and "demo" not in first
    assert verify_password("demo", first) and verify_password("demo", second)
    assert not verify_password("Demo", first)
    assert not verify_password("demo", "plain-text")


def test_a_user_holds_several_roles_and_logs_in_with_its_password(engine: Engine) -> None:
    with engine.writer.begin() as session:
        create_user(
            session, "sup1", "s3cret", ["service_supervisor", "customer_service"], ROLE_KEYS, "李主任"
        )
    with engine.sessions() as session:
        user = authenticate(session, "sup1", "s3cret")
        assert user is not None
        assert user.role_keys == {"service_supervisor", "customer_service"}
        assert user.display_name == "李主任"
        assert authenticate(session, "sup1", "wrong") is None
        assert authenticate(session, "nobody", "s3cret") is None
        assert [u.username for u in users_with_role(session, "customer_service")] == ["sup1"]


def test_unknown_roles_and_duplicate_names_are_refused(engine: Engine) -> None:
    with engine.writer.begin() as session:
        create_user(session, "cs1", "pw", ["customer_service"], ROLE_KEYS)
    with pytest.raises(EngineError, match="unknown role"), engine.writer.begin() as session:
        create_user(session, "x", "pw", ["janitor"], ROLE_KEYS)
    with pytest.raises(EngineError, match="already exists"), engine.writer.begin() as session:
        create_user(session, "cs1", "pw", ["sales"], ROLE_KEYS)
    with engine.writer.begin() as session:
        create_user(session, "cs1", "new", ["sales"], ROLE_KEYS, replace=True)
    with engine.sessions() as session:
        assert session.scalar(select(User).where(User.username == "x")) is None
        user = authenticate(session, "cs1", "new")
        assert user is not None and user.role_keys == {"sales"}


def test_an_inactive_user_cannot_log_in(engine: Engine) -> None:
    with engine.writer.begin() as session:
        create_user(session, "gone", "pw", ["sales"], ROLE_KEYS).active = False
    with engine.sessions() as session:
        assert authenticate(session, "gone", "pw") is None
