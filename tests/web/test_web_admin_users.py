"""The administrator's page for users and roles: every change works, is refused when wrong, is audited."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import Event, User
from engine.users import create_user
from processes.demo import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.web.conftest import NOW, Web

ADMIN_PASSWORD = "Ad-min-pass-2026"
GOOD_PASSWORD = "晨光-仓库-2026-春"


@pytest.fixture
def admin(web: Web) -> FlaskClient:
    with web.engine.writer.begin() as session:
        create_user(session, "admin1", ADMIN_PASSWORD, ("admin",), ROLE_KEYS, "系统管理员")
    client = web.app.test_client()
    assert client.post("/login", data={"username": "admin1", "password": ADMIN_PASSWORD}).status_code == 302
    return client


def stored(web: Web, username: str) -> User | None:
    with web.engine.sessions() as session:
        return session.scalar(select(User).where(User.username == username))


def account_events(web: Web, action: str) -> list[Event]:
    with web.engine.sessions() as session:
        return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def can_log_in(web: Web, username: str, password: str) -> bool:
    return (
        web.app.test_client().post("/login", data={"username": username, "password": password}).status_code
        == 302
    )


def test_only_administrators_reach_the_user_pages(web: Web, admin: FlaskClient) -> None:
    clerk = web.client("cs1")
    assert clerk.get("/admin/users").status_code == 403
    assert clerk.get("/admin/users/cs1").status_code == 403
    assert clerk.post("/admin/users/sup1/disable").status_code == 403
    assert clerk.post("/admin/users", data={"username": "x1", "password": GOOD_PASSWORD}).status_code == 403
    assert stored(web, "x1") is None and stored(web, "sup1").active  # type: ignore[union-attr]
    assert web.app.test_client().get("/admin/users").status_code == 302
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert 'data-username="cs1"' in page.text and 'id="nav-admin"' in page.text
    assert 'id="nav-admin"' not in clerk.get("/").text


def test_an_administrator_creates_a_user_who_can_log_in(web: Web, admin: FlaskClient) -> None:
    web.freeze(NOW)
    response = admin.post(
        "/admin/users",
        data={
            "username": "wh9",
            "display_name": "赵仓管",
            "password": GOOD_PASSWORD,
            "roles": ["warehouse", "quality"],
        },
    )
    assert response.status_code == 302 and response.location.endswith("/admin/users/wh9")
    user = stored(web, "wh9")
    assert user is not None and user.display_name == "赵仓管" and user.role_keys == {"warehouse", "quality"}
    assert can_log_in(web, "wh9", GOOD_PASSWORD)
    (event,) = account_events(web, "user_created")
    assert (event.actor, event.at, event.data) == (
        "admin1",
        NOW,
        {"username": "wh9", "roles": ["quality", "warehouse"]},
    )
    assert "event-user_created" in admin.get("/admin/users/wh9").text


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "密码至少需要 10 个字符。"),
        ("wh9-warehouse-key", "密码不能包含用户名。"),
        ("password123", "这个密码太常见，请换一个。"),
        ("qwertyuiop", "这个密码太常见，请换一个。"),
    ],
)
def test_a_password_that_breaks_the_rules_creates_nothing(
    web: Web, admin: FlaskClient, password: str, message: str
) -> None:
    response = admin.post(
        "/admin/users", data={"username": "wh9", "password": password, "roles": ["warehouse"]}
    )
    assert response.status_code == 400
    assert message in web.flashes(response.text)
    assert 'value="wh9"' in response.text  # what was typed is kept, except the password
    assert stored(web, "wh9") is None
    assert account_events(web, "user_created") == []


def test_password_messages_are_in_english_too(web: Web, admin: FlaskClient) -> None:
    admin.post("/language", data={"lang": "en"})
    response = admin.post("/admin/users", data={"username": "wh9", "password": "abc", "roles": []})
    assert "The password needs at least 10 characters." in web.flashes(response.text)


def test_a_duplicate_or_empty_user_name_is_refused(web: Web, admin: FlaskClient) -> None:
    duplicate = admin.post("/admin/users", data={"username": "cs1", "password": GOOD_PASSWORD})
    assert duplicate.status_code == 400 and "已有同名用户。" in web.flashes(duplicate.text)
    assert can_log_in(web, "cs1", DEMO_PASSWORD)  # the existing user is untouched
    unknown_role = admin.post(
        "/admin/users", data={"username": "zz1", "password": GOOD_PASSWORD, "roles": ["boss"]}
    )
    assert unknown_role.status_code == 400 and stored(web, "zz1") is None


def test_disabling_ends_the_users_session_and_log_ins_until_enabled(web: Web, admin: FlaskClient) -> None:
    clerk = web.client("cs1")
    assert clerk.get("/").status_code == 200
    assert admin.post("/admin/users/cs1/disable").status_code == 302
    assert clerk.get("/").status_code == 302  # the open session ended
    assert not can_log_in(web, "cs1", DEMO_PASSWORD)
    assert "已停用" in admin.get("/admin/users/cs1").text
    admin.post("/admin/users/cs1/enable")
    assert can_log_in(web, "cs1", DEMO_PASSWORD)
    assert [e.actor for e in account_events(web, "user_disabled")] == ["admin1"]
    assert [(e.data or {})["username"] for e in account_events(web, "user_enabled")] == ["cs1"]


def test_an_administrator_cannot_disable_or_demote_themselves(web: Web, admin: FlaskClient) -> None:
    response = admin.post("/admin/users/admin1/disable", follow_redirects=True)
    assert "不能停用自己的账号。" in web.flashes(response.text)
    response = admin.post("/admin/users/admin1/roles", data={"roles": ["technician"]}, follow_redirects=True)
    assert "不能取消自己的管理员角色。" in web.flashes(response.text)
    user = stored(web, "admin1")
    assert user is not None and user.active and user.role_keys == {"admin"}


def test_resetting_a_password_replaces_the_old_one_and_records_no_secret(
    web: Web, admin: FlaskClient
) -> None:
    assert admin.post("/admin/users/cs1/password", data={"password": GOOD_PASSWORD}).status_code == 302
    assert can_log_in(web, "cs1", GOOD_PASSWORD)
    assert not can_log_in(web, "cs1", DEMO_PASSWORD)
    (event,) = account_events(web, "password_reset")
    assert event.actor == "admin1" and event.data == {"username": "cs1"}
    refused = admin.post(
        "/admin/users/cs1/password", data={"password": "cs1cs1cs1cs1"}, follow_redirects=True
    )
    assert "密码不能包含用户名。" in web.flashes(refused.text)
    assert can_log_in(web, "cs1", GOOD_PASSWORD)


def test_changing_roles_is_recorded_with_before_and_after(web: Web, admin: FlaskClient) -> None:
    response = admin.post("/admin/users/cs1/roles", data={"roles": ["customer_service", "technician"]})
    assert response.status_code == 302
    assert stored(web, "cs1").role_keys == {"customer_service", "technician"}  # type: ignore[union-attr]
    (event,) = account_events(web, "roles_changed")
    assert event.data == {
        "username": "cs1",
        "before": ["customer_service"],
        "after": ["customer_service", "technician"],
    }
    # The new role counts at the user's next request (the session reloads the user).
    page = admin.get("/admin/users/cs1")
    assert 'value="technician" checked' in page.text
    admin.post("/admin/users/cs1/roles", data={"roles": ["customer_service", "technician"]})
    assert len(account_events(web, "roles_changed")) == 1  # no change, no event
    bad = admin.post("/admin/users/cs1/roles", data={"roles": ["boss"]}, follow_redirects=True)
    assert bad.status_code == 200
    assert stored(web, "cs1").role_keys == {"customer_service", "technician"}  # type: ignore[union-attr]


def lock(web: Web, username: str) -> None:
    for _ in range(5):
        web.app.test_client().post("/login", data={"username": username, "password": "wrong-guess"})


def test_an_administrator_unlocks_a_locked_account_before_the_lockout_ends(
    web: Web, admin: FlaskClient
) -> None:
    web.freeze(NOW)
    lock(web, "cs1")
    assert not can_log_in(web, "cs1", DEMO_PASSWORD)
    users_page = admin.get("/admin/users").text
    row = users_page[users_page.index('data-username="cs1"') :]
    assert "锁定至" in row[: row.index("</tr>")]
    page = admin.get("/admin/users/cs1").text
    assert 'action="/admin/users/cs1/unlock"' in page
    response = admin.post("/admin/users/cs1/unlock", follow_redirects=True)
    assert "cs1 已解除锁定。" in web.flashes(response.text)
    assert can_log_in(web, "cs1", DEMO_PASSWORD)
    (event,) = account_events(web, "login_unlocked")
    assert event.actor == "admin1" and event.at == NOW
    assert (event.data or {})["was_locked"] is True
    history: Any = admin.get("/admin/users/cs1").text
    assert "event-login_locked" in history and "event-login_unlocked" in history
    missing = admin.post("/admin/users/nobody/unlock", follow_redirects=True)
    assert "没有这个用户。" in web.flashes(missing.text)
