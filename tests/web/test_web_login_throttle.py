"""Logins resist guessing: failures lock the account and the address for a while, audited.

The clock is frozen, so a lock-out ends by moving it, not by waiting. Two apps over one
database stand for two server processes: the counts are shared because they live in the
database. Unknown user names cost a hash check like known ones (counted, not timed).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts.login_throttle import LOCKED_EVENT
from engine.models import Event
from processes.demo import DEMO_PASSWORD
from tests.web.conftest import NOW, Web, settings_in
from web.app import create_app

LOCKED_ZH = "登录失败次数过多"


def log_in(client: Any, username: str, password: str, address: str = "198.51.100.7") -> Any:
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def events(web: Web, action: str) -> list[Event]:
    with web.engine.sessions() as session:
        return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def test_after_five_failures_even_the_right_password_is_refused_until_the_lockout_ends(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    for _ in range(4):
        assert log_in(client, "cs1", "wrong-guess").status_code == 401
    fifth = log_in(client, "cs1", "wrong-guess")
    assert fifth.status_code == 429 and LOCKED_ZH in fifth.text
    refused = log_in(client, "cs1", DEMO_PASSWORD)
    assert refused.status_code == 429
    assert LOCKED_ZH in refused.text and "15" in refused.text
    assert int(refused.headers["Retry-After"]) == 15 * 60
    with client.session_transaction() as session:
        assert "_user_id" not in session
    # The lock-out is the account's: another address does not help, another user is not affected.
    assert log_in(web.app.test_client(), "cs1", DEMO_PASSWORD, address="192.0.2.1").status_code == 429
    assert log_in(web.app.test_client(), "sup1", DEMO_PASSWORD).status_code == 302

    (locked,) = events(web, LOCKED_EVENT)
    assert locked.instance_id is None and locked.at == NOW
    assert locked.data == {
        "scope": "account",
        "key": "cs1",
        "address": "198.51.100.7",
        "until": (NOW + timedelta(minutes=15)).isoformat(),
    }

    clock.advance(timedelta(minutes=14, seconds=59))
    assert log_in(client, "cs1", DEMO_PASSWORD).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert log_in(client, "cs1", DEMO_PASSWORD).status_code == 302


def test_spelling_variants_of_a_user_name_count_together(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    for name in ("cs1", "CS1", " cs1", "Cs1", "cs1 "):
        log_in(client, name, "wrong-guess")
    assert log_in(client, "cs1", DEMO_PASSWORD).status_code == 429


def test_a_good_login_forgets_the_accounts_earlier_failures(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    for _ in range(4):
        log_in(client, "cs1", "wrong-guess")
    assert log_in(client, "cs1", DEMO_PASSWORD).status_code == 302
    for _ in range(4):
        assert log_in(web.app.test_client(), "cs1", "wrong-guess").status_code == 401
    assert log_in(web.app.test_client(), "cs1", DEMO_PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    for _ in range(4):
        log_in(client, "cs1", "wrong-guess")
    clock.advance(timedelta(minutes=16))
    assert log_in(client, "cs1", "wrong-guess").status_code == 401
    assert log_in(client, "cs1", DEMO_PASSWORD).status_code == 302


def test_an_address_that_tries_many_user_names_is_locked_out(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    for n in range(20):
        log_in(client, f"guess{n}", "wrong-guess", address="203.0.113.50")
    # Even a real user with the right password is refused from that address...
    refused = log_in(web.app.test_client(), "sup1", DEMO_PASSWORD, address="203.0.113.50")
    assert refused.status_code == 429 and LOCKED_ZH in refused.text
    # ...but not from another one.
    assert log_in(web.app.test_client(), "sup1", DEMO_PASSWORD, address="203.0.113.51").status_code == 302
    scopes = [(e.data or {})["scope"] for e in events(web, LOCKED_EVENT)]
    assert scopes == ["address"]


def test_the_message_is_the_same_for_unknown_user_names_and_in_english(web: Web) -> None:
    web.freeze(NOW)
    client = web.app.test_client()
    client.post("/language", data={"lang": "en"})
    for _ in range(5):
        log_in(client, "nobody-here", "wrong-guess")
    refused = log_in(client, "nobody-here", "whatever")
    assert refused.status_code == 429
    assert "Too many failed log-ins. Try again in 15 minutes" in refused.text


def test_two_server_processes_count_the_same_failures(web: Web, tmp_path: Path) -> None:
    web.freeze(NOW)
    other = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False, "AFTERFLOW_ENGINE": web.engine}, settings_in(tmp_path)
    )
    assert other.extensions["afterflow_login_guard"] is not web.app.extensions["afterflow_login_guard"]
    for app in (web.app, other, web.app, other):
        log_in(app.test_client(), "cs1", "wrong-guess")
    assert log_in(other.test_client(), "cs1", "wrong-guess").status_code == 429
    assert log_in(web.app.test_client(), "cs1", DEMO_PASSWORD).status_code == 429


@pytest.mark.parametrize(
    ("username", "password"),
    [("cs1", "wrong-guess"), ("no-such-user", "wrong-guess"), ("cs1", DEMO_PASSWORD)],
)
def test_known_and_unknown_user_names_both_go_through_the_hash(
    web: Web, monkeypatch: pytest.MonkeyPatch, username: str, password: str
) -> None:
    # Timing is not asserted (that would be flaky); what makes the times equal is asserted:
    # every answer costs exactly one scrypt computation with the same parameters.
    calls: list[dict[str, Any]] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password: bytes, **kwargs: Any) -> bytes:
        calls.append({k: v for k, v in kwargs.items() if k != "salt"})
        return real_scrypt(password, **kwargs)

    log_in(web.app.test_client(), "sup1", DEMO_PASSWORD)  # the dummy hash is made once, before counting
    log_in(web.app.test_client(), "no-such-user-either", "x")
    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    log_in(web.app.test_client(), username, password)
    assert calls == [{"n": 2**14, "r": 8, "p": 1}]
