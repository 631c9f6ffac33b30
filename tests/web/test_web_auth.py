"""Logging in and out, pages behind the login, language choice, CSRF and security headers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from processes.demo.users import DEMO_PASSWORD


def test_login_shows_the_inbox_with_the_user(web) -> None:
    client = web.app.test_client()
    response = client.post("/login", data={"username": "cs1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"
    with client.session_transaction() as session:
        assert session.get("_user_id")
    page = client.get("/")
    assert page.status_code == 200
    assert "王客服 (cs1)" in page.text
    assert "<h1>待办</h1>" in page.text


@pytest.mark.parametrize(("username", "password"), [("cs1", "wrong"), ("nobody", DEMO_PASSWORD), ("cs1", "")])
def test_wrong_login_is_refused_with_a_message_and_no_session(web, username: str, password: str) -> None:
    client = web.app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 401
    assert "用户名或密码错误。" in web.flashes(response.text)
    assert f'value="{username}"' in response.text  # the user name is kept, the password is not
    assert 'type="password" autocomplete="current-password" required>' in response.text
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/start", "/start/repair_service", "/tasks/no-such-task"])
def test_pages_need_login(web, path: str) -> None:
    response = web.app.test_client().get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert path.replace("/", "%2F") in response.location


def test_login_follows_next_on_this_site(web) -> None:
    client = web.app.test_client()
    target = client.get("/start").location
    response = client.post(target, data={"username": "cs1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.location == "/start"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/inbox",
        "//evil.example/inbox",
        "/\\evil.example/inbox",
        "/\t/evil.example/inbox",
        "http:evil.example",
        "javascript:alert(1)",
    ],
)
def test_login_refuses_next_to_other_hosts(web, next_url: str) -> None:
    client = web.app.test_client()
    response = client.post(
        "/login", query_string={"next": next_url}, data={"username": "cs1", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == "/"


def test_logout_ends_the_session(web) -> None:
    client = web.client("cs1")
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    assert client.get("/").status_code == 302
    assert client.get("/logout").status_code == 405  # only a POST (with its CSRF token) logs out


def test_language_switch_makes_the_page_english_and_is_remembered(web) -> None:
    client = web.client("cs1")
    assert "<h1>待办</h1>" in client.get("/").text
    response = client.post("/language", data={"lang": "en"}, headers={"Referer": "http://localhost/start"})
    assert response.status_code == 302
    assert response.location == "/start"  # back to the page the switch was on
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert cookie.expires is not None  # kept across browser restarts
    page = client.get("/").text
    assert '<html lang="en">' in page
    assert "<h1>Inbox</h1>" in page
    assert re.search(r"My roles(&#39;|') open tasks", page)
    assert re.search(r'value="zh" class="link" id="lang-switch"[^>]*>中文</button>', page)

    # A new session (after logging out, or another login on this browser) keeps the language.
    client.post("/logout")
    with client.session_transaction() as session:
        session.clear()
    login_page = client.get("/login").text
    assert "<h1>Log in</h1>" in login_page
    client.delete_cookie("lang")
    assert "<h1>登录</h1>" in client.get("/login").text

    # Switching back works the same way.
    client.post("/language", data={"lang": "zh"})
    assert "<h1>登录</h1>" in client.get("/login").text


def test_language_switch_ignores_unknown_languages(web) -> None:
    client = web.client("cs1")
    response = client.post("/language", data={"lang": "fr\r\nSet-Cookie: x=1"})
    assert response.status_code == 302
    assert client.get_cookie("lang") is None
    assert "<h1>待办</h1>" in client.get("/").text


def test_language_switch_does_not_redirect_to_other_hosts(web) -> None:
    client = web.app.test_client()
    response = client.post("/language", data={"lang": "en"}, headers={"Referer": "https://evil.example/x"})
    assert response.location == "/"


def test_form_errors_follow_the_language(web) -> None:
    client = web.client("cs1")
    client.post("/language", data={"lang": "en"})
    response = client.post("/start/repair_service", data={**web.request, "customer_name": ""})
    assert response.status_code == 422
    block = web.field_block(response.text, "customer_name")
    assert "Customer name" in block
    assert re.search(r'<p class="error" id="field-customer_name-error">[A-Z][^<]+</p>', block)
    assert "此项" not in block


def test_csrf_is_on_by_default(make_app: Callable[..., Flask]) -> None:
    app = make_app(TESTING=True)  # WTF_CSRF_ENABLED left at its default
    client = app.test_client()
    refused = client.post("/login", data={"username": "cs1", "password": DEMO_PASSWORD})
    assert refused.status_code == 400
    assert "请求无法处理。" in refused.text
    assert "Traceback" not in refused.text
    with client.session_transaction() as session:
        assert "_user_id" not in session

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    accepted = client.post(
        "/login", data={"username": "cs1", "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    )
    assert accepted.status_code == 302
    # Every state-changing form of a logged-in user needs the token too.
    assert client.post("/language", data={"lang": "en"}).status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.post("/start/repair_service", data={"customer_name": "x"}).status_code == 400


@pytest.mark.parametrize("path", ["/login", "/", "/tasks/no-such-task"])
def test_security_headers(web, path: str) -> None:
    response = web.client("cs1").get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(web) -> None:
    client = web.app.test_client()
    response = client.post("/login", data={"username": "cs1", "password": DEMO_PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
