"""Customers hear of their repair — received, technician on the way, completed: please rate us — when the
company turns the notices on, each once, with a link that opens their status page; none when it is off."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor, create_user
from engine.outbox.gateway import SmsGatewayChannel
from engine.outbox.mail import EmailChannel, SmtpSettings
from engine.outbox.models import Notification
from processes.demo.signatures import signed_by
from processes.notifications.delivery import make_deliverer
from processes.notifications.models import CustomerNoticeSetting
from processes.portal.models import PortalRequest
from processes.roles import ROLE_KEYS
from tests.integration.notify_servers import RobotSink, SmtpSink
from tests.web.conftest import Web

CS = Actor("cs1", frozenset({"customer_service"}))
SUP = Actor("sup1", frozenset({"service_supervisor"}))
TECH = Actor("tech1", frozenset({"technician"}))
BASE = "https://service.example.cn"
NOTE = "内部：客户曾拖欠维修费，先收款"
ADMIN_PASSWORD = "Ad-min-pass-2026"


@pytest.fixture
def admin(web: Web) -> FlaskClient:
    with web.engine.writer.begin() as session:
        create_user(session, "admin1", ADMIN_PASSWORD, ("admin",), ROLE_KEYS, "系统管理员")
    client = web.app.test_client()
    assert client.post("/login", data={"username": "admin1", "password": ADMIN_PASSWORD}).status_code == 302
    return client


@pytest.fixture(autouse=True)
def base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERFLOW_BASE_URL", BASE)
    monkeypatch.delenv("AFTERFLOW_CUSTOMER_NOTICES", raising=False)


def complete(web: Web, number: str, spec_id: str, data: dict[str, Any], actor: Actor) -> None:
    web.engine.complete(web.open_task(number, spec_id).id, data, actor)


def dispatch(web: Web, number: str) -> None:
    complete(web, number, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete(web, number, "task_dispatch", {"technician": "tech1", "dispatch_notes": NOTE}, SUP)


def run_to_follow_up(web: Web, number: str) -> None:
    complete(
        web, number, "task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH
    )
    repaired = {
        "outcome": "fixed_on_site",
        "work_done": "更换电源板",
        "hours_spent": 2,
        "customer_signature": signed_by("王工"),
    }
    complete(web, number, "task_repair", repaired, TECH)
    complete(web, number, "task_acceptance", {"accepted": "yes"}, SUP)


def customer_rows(web: Web) -> list[Notification]:
    with web.engine.sessions() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.kind.startswith("customer_"))
                .order_by(Notification.id)
            )
        )


def deliver(web: Web, smtp: SmtpSink, gateway: RobotSink) -> int:
    channels: dict[str, Any] = {
        "customer_email": EmailChannel(SmtpSettings("127.0.0.1", smtp.port, sender="service@example.cn")),
        "customer_sms": SmsGatewayChannel(gateway.url("/sms"), "gw-secret"),
    }
    return make_deliverer(web.engine, channels, BASE).drain().delivered


def status_path(text: str) -> str:
    found = re.search(re.escape(BASE) + r"(/portal/status/[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def test_a_staff_registered_repair_tells_the_customer_each_stage_once_by_text(
    web: Web, admin: FlaskClient
) -> None:
    saved = admin.post(
        "/admin/notifications/customers", data={"channels": ["sms", "email"], "name_technician": "yes"}
    )
    assert saved.status_code == 302
    number = web.start_repair(web.client("cs1"), customer_phone="139 1234 5678")
    dispatch(web, number)
    run_to_follow_up(web, number)
    with SmtpSink() as smtp, RobotSink() as gateway:
        assert deliver(web, smtp, gateway) == 3
        assert deliver(web, smtp, gateway) == 0  # nothing twice
        assert smtp.mails == []  # a phone number: text messages only
        texts = [r["json"] for r in gateway.requests]
    assert [t["to"] for t in texts] == ["13912345678"] * 3
    received, on_the_way, completed = (t["text"] for t in texts)
    assert "已受理" in received and number in received
    assert "技术员 张工 正在前往" in on_the_way  # the display name, as the company allows
    assert "请在此为我们的服务评分" in completed
    for text in (received, on_the_way, completed):
        assert NOTE not in text and "tech1" not in text  # no internal notes, no user names
    # One private link per case, and it opens the case's status page, with the rating card at the end.
    path = status_path(completed)
    assert {status_path(t) for t in (received, on_the_way)} == {path}
    customer = web.app.test_client()
    page = customer.get(path)
    assert page.status_code == 200 and number in page.text and 'id="rating-form"' in page.text
    assert NOTE not in page.text
    with web.engine.sessions() as session:
        (request,) = session.scalars(select(PortalRequest)).all()
        assert request.kind == "repair" and path.rsplit("/", 1)[1] not in (
            request.token_hash,
            request.link_seed,
        )


def test_an_email_contact_gets_mail_and_the_technician_stays_unnamed_unless_allowed(
    web: Web, admin: FlaskClient
) -> None:
    admin.post("/admin/notifications/customers", data={"channels": ["email", "sms"]})
    number = web.start_repair(web.client("cs1"), customer_phone="buyer@hospital.cn")
    dispatch(web, number)
    with SmtpSink() as smtp, RobotSink() as gateway:
        assert deliver(web, smtp, gateway) == 2
        assert gateway.requests == []
        mails = list(smtp.mails)
    assert [m["To"] for m in mails] == ["buyer@hospital.cn"] * 2
    body = mails[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "技术员正在前往" in body and "张工" not in body and NOTE not in body
    assert web.app.test_client().get(status_path(body)).status_code == 200


def test_no_notice_when_the_company_has_them_off_or_the_contact_is_a_landline(
    web: Web, admin: FlaskClient
) -> None:
    number = web.start_repair(web.client("cs1"), customer_phone="139 1234 5678")
    dispatch(web, number)
    admin.post("/admin/notifications/customers", data={"channels": ["sms"]})
    landline = web.start_repair(web.client("cs1"))  # 021-5555-0101 takes no text message
    dispatch(web, landline)
    admin.post("/admin/notifications/customers", data={})  # off again
    run_to_follow_up(web, number)
    assert customer_rows(web) == []
    with web.engine.sessions() as session:
        assert session.scalars(select(PortalRequest)).all() == []  # no status key was made either


def test_only_administrators_change_the_notices_and_a_bad_choice_changes_nothing(
    web: Web, admin: FlaskClient
) -> None:
    assert (
        web.client("sup1").post("/admin/notifications/customers", data={"channels": ["sms"]}).status_code
        == 403
    )
    refused = admin.post("/admin/notifications/customers", data={"channels": ["sms", "pigeon"]})
    assert refused.status_code == 422 and "客户通知渠道" in refused.text
    with web.engine.sessions() as session:
        assert session.get(CustomerNoticeSetting, 1) is None
    admin.post("/admin/notifications/customers", data={"channels": ["sms"], "name_technician": "yes"})
    page = admin.get("/admin/notifications").text
    form = page[page.index('id="customer-notices"') :]
    form = form[: form.index("</form>")]
    assert re.search(r'value="sms" checked', form) and not re.search(r'value="email" checked', form)
    assert re.search(r'name="name_technician" value="yes" checked', form)


def test_a_portal_request_is_told_every_stage_with_the_link_the_customer_was_given(
    web: Web, admin: FlaskClient
) -> None:
    from tests.web.portal_client import CUSTOMER_REQUEST, post_request, submitted
    from tests.web.test_web_portal import REGISTRATION

    admin.post("/admin/notifications/customers", data={"channels": ["sms"]})
    mobile = {"customer_phone": "13700001111"}
    done = submitted(post_request(web.app.test_client(), {**CUSTOMER_REQUEST, **mobile}))
    complete(web, done.number, "task_register_portal", {**REGISTRATION, **mobile}, CS)
    dispatch(web, done.number)
    run_to_follow_up(web, done.number)
    with SmtpSink() as smtp, RobotSink() as gateway:
        assert deliver(web, smtp, gateway) == 3
        texts = [r["json"]["text"] for r in gateway.requests]
    assert ["已受理" in texts[0], "正在前往" in texts[1], "评分" in texts[2]] == [True] * 3
    # The notices of later stages carry the very link the confirmation page showed.
    assert {status_path(t) for t in texts} == {urlsplit(done.link).path}
    with web.engine.sessions() as session:
        assert len(session.scalars(select(PortalRequest)).all()) == 1  # no second key was made
