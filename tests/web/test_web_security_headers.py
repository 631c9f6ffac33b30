"""Every answer of the app carries the Content-Security-Policy and the other secure headers.

The routes are read from the app's url map, so a page added later is checked too: each route
that answers GET is requested with real ids by a user who holds every role (and once more
logged out), and every answer — page, file, redirect or error — must carry the headers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine import clock
from engine.accounts.users import create_user
from engine.store.models import ProcessDefinition, ProcessInstance
from processes.demo.users import DEMO_PASSWORD
from processes.portal.intake import REPAIR, submit
from processes.records.models import Customer, Product
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web, settings_in
from tests.web.portal_client import CUSTOMER_REQUEST
from web.app import create_app
from web.security_headers import CONTENT_SECURITY_POLICY
from web.settings import Settings, load_settings

EVERY_ROLE_PASSWORD = "every-role-pass-2026"


def route_values(web: Web) -> dict[str, object]:
    """Real values for every argument name the app's routes use."""
    number = web.start_repair(web.client("cs1"))
    task = web.open_task(number, "task_remote_guidance")
    with web.engine.sessions() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_number == number)
        )
        definition = session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.process_key == "repair_service")
        ).first()
        assert definition is not None
    with web.engine.writer.begin() as session:
        customer = Customer(name="安全头测试医院", created_at=clock.now())
        session.add(customer)
        session.flush()
        product = Product(customer_id=customer.id, model="PM-9000", serial_number="SN-HEADERS")
        session.add(product)
        session.flush()
        customer_id, product_id = customer.id, product.id
    return {
        "task_id": task.id,
        "instance_id": instance_id,
        "definition_id": definition.id,
        "process_key": "repair_service",
        "version": definition.version,
        "filename": "afterflow.css",
        "comment_id": 1,
        "attachment_id": 1,
        "username": "cs1",
        "case_id": instance_id,
        "subscription_id": 1,
        "notification_id": 1,  # none is written here (404, like comments)
        "customer_id": customer_id,
        "product_id": product_id,
        "number": "DOC-NONE",  # a document number: none is issued here (404, like comments)
        "name": "service_voucher",
        "kind": "repair",
        "token": submit(web.engine, REPAIR, CUSTOMER_REQUEST, [], web.app.config["SECRET_KEY"]).token,
    }


def test_every_get_route_answers_with_the_content_security_policy(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "every", EVERY_ROLE_PASSWORD, ROLE_KEYS, ROLE_KEYS, "全角色")
    values = route_values(web)
    everyone = web.app.test_client()
    assert (
        everyone.post("/login", data={"username": "every", "password": EVERY_ROLE_PASSWORD}).status_code
        == 302
    )
    anonymous = web.app.test_client()
    answered: dict[str, int] = {}
    for rule in web.app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"no test value for {missing} of {rule.rule}: add one to route_values"
        with web.app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        for client in (everyone, anonymous):
            response = client.get(url)
            # /readyz answers 503 by design while the instance is not ready (here: no runner).
            assert response.status_code < 500 or rule.rule == "/readyz", (url, response.status_code)
            assert response.headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, url
            assert response.headers.get("X-Content-Type-Options") == "nosniff", url
            assert response.headers.get("X-Frame-Options") == "SAMEORIGIN", url
            assert response.headers.get("Referrer-Policy") == "same-origin", url
        answered[rule.rule] = everyone.get(url).status_code
    # The ids are real: every page answers but those of comments, attachments and documents (none exist)
    # and the two that need a second version to compare with (one version is deployed).
    # The API answers 401 to a browser session: only a token authenticates it.
    not_ok = {
        rule: code for rule, code in answered.items() if code != 200 and not rule.startswith("/api/v1/")
    }
    assert {rule: answered[rule] for rule in ("/manage", "/manage/")} == {"/manage": 302, "/manage/": 302}
    not_ok = {rule: code for rule, code in not_ok.items() if rule not in ("/manage", "/manage/")}
    assert {code for rule, code in answered.items() if rule.startswith("/api/v1/")} - {200} <= {401}
    assert set(not_ok) <= {
        "/comments/<int:comment_id>",
        "/attachments/<int:attachment_id>",
        "/documents/<number>",
        "/modeler/<process_key>/migrate",
        "/modeler/api/<process_key>/compare",
        "/admin/webhooks/<int:subscription_id>",
        "/readyz",
    }, not_ok
    assert len(answered) >= 20


def test_the_policy_allows_scripts_only_from_our_own_files() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in directives["script-src"] and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["base-uri"] == "'self'"


def test_no_page_carries_an_inline_script(web: Web) -> None:
    templates = Path(web.app.root_path) / "templates"
    for template in templates.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text()):
            assert "src=" in tag, f"{template.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", template.read_text()), f"{template.name}: inline handler"


def https_app(web: Web, tmp_path: Path) -> Flask:
    settings = Settings(
        **{
            **settings_in(tmp_path).__dict__,
            "session_cookie_secure": True,
            "hsts_seconds": 31536000,
            "proxy_hops": 1,
        }
    )
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "AFTERFLOW_ENGINE": web.engine}, settings)


def test_behind_https_the_cookies_are_secure_and_hsts_is_sent(web: Web, tmp_path: Path) -> None:
    app = https_app(web, tmp_path)
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": "cs1", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies), cookies
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    plain = web.app.test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers


def test_https_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AFTERFLOW_SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("AFTERFLOW_HSTS_SECONDS", "63072000")
    monkeypatch.setenv("AFTERFLOW_PROXY_HOPS", "2")
    settings = load_settings(tmp_path)
    assert (settings.session_cookie_secure, settings.hsts_seconds, settings.proxy_hops) == (True, 63072000, 2)
    monkeypatch.setenv("AFTERFLOW_PROXY_HOPS", "two")
    with pytest.raises(ValueError, match="AFTERFLOW_PROXY_HOPS"):
        load_settings(tmp_path)
