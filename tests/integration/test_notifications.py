"""Notifications: written with the command, delivered on each person's channels, once, at local servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from email.header import decode_header

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid
from engine.outbox.delivery import Deliverer
from engine.outbox.inbox import unread_count
from engine.outbox.mail import EmailChannel, SmtpSettings
from engine.outbox.models import Notification
from engine.outbox.preferences import PreferenceInvalid, save_preference, save_role_default
from engine.outbox.robots import RobotChannel
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.models import Task
from processes.notifications.delivery import link_maker
from processes.notifications.wording import make_renderer
from processes.wiring import build_engine
from tests.integration.notify_servers import RobotSink, SmtpSink, free_port
from tests.scenarios.conftest import (  # noqa: F401  (fixtures)
    REPAIR_REQUEST,
    SHANGHAI,
    as_user,
    complete_step,
    demo_password_hash,
    fire_timers,
    open_task,
    scenario_engine,
    scenario_time,
    shanghai,
)

CS, SUP = as_user("cs1"), as_user("sup1")


@pytest.fixture
def demo(scenario_engine: Engine) -> Engine:  # noqa: F811
    """The diagrams deployed, the demo users, the clock frozen on Monday 2026-11-23 09:00 in Shanghai."""
    return scenario_engine


def rows(engine: Engine, **where: object) -> list[Notification]:
    with engine.sessions() as session:
        query = select(Notification).where(Notification.medium != "marker").order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.scalars(query))


def register_for_dispatch(engine: Engine, **overrides: str) -> int:
    case = engine.start("repair_service", {**REPAIR_REQUEST, **overrides}, CS).id
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    return case


def deliverer(engine: Engine, smtp: SmtpSink | None = None, **robots: RobotChannel) -> Deliverer:
    channels: dict[str, object] = dict(robots)
    if smtp is not None:
        channels["email"] = EmailChannel(SmtpSettings("127.0.0.1", smtp.port, sender="afterflow@example.cn"))
    return Deliverer(engine.writer, channels, make_renderer(link_maker("https://afterflow.example.cn")))  # type: ignore[arg-type]


def test_a_dispatch_reaches_the_technician_on_the_channels_they_chose(demo: Engine) -> None:
    engine = demo
    with engine.writer.begin() as session:
        save_preference(
            session,
            "tech2",
            ["task_assigned"],
            ["inapp", "email", "dingtalk"],
            email="tech2@example.cn",
            mobile="13800000002",
        )
    case = register_for_dispatch(engine)
    # Everyone of the supervisors' role was offered the dispatch, in the app (the default).
    offered = rows(engine, kind="task_offered")
    assert {(n.recipient, n.medium) for n in offered if n.params["task"] == "派工"} >= {("sup1", "inapp")}

    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    mine = rows(engine, recipient="tech2")
    assert sorted((n.kind, n.medium, n.state) for n in mine) == [
        ("task_assigned", "dingtalk", "pending"),
        ("task_assigned", "email", "pending"),
        ("task_assigned", "inapp", "delivered"),
    ]
    assert rows(engine, recipient="tech1") == []  # tech1 was not dispatched
    arrival = open_task(engine, case, "task_arrival")
    with SmtpSink() as smtp, RobotSink() as robot:
        done = deliverer(
            engine, smtp, dingtalk=RobotChannel("dingtalk", robot.url() + "?access_token=t", "SECx")
        ).drain()
        assert (done.delivered, done.failed) == (2, 0)
        assert deliverer(engine, smtp).drain().delivered == 0  # nothing twice
    [mail] = smtp.mails
    subject = "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in decode_header(mail.get("Subject").__str__())
    )
    assert subject.startswith("【新任务】") and arrival.name in subject
    assert mail["To"] == "tech2@example.cn"
    raw = mail.as_bytes()
    assert b"=?utf-8?" in raw.lower()  # the Chinese subject is encoded, not raw 8-bit
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert f"https://afterflow.example.cn/tasks/{arrival.id}" in text.get_content()
    assert arrival.due_at is not None  # the due time reads on the Shanghai wall clock
    assert f"（期限 {arrival.due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）" in text.get_content()
    assert "<a href=" in html.get_content()
    [request] = robot.requests
    body = request["json"]
    assert body["msgtype"] == "text" and body["at"] == {"atMobiles": ["13800000002"], "isAtAll": False}
    assert "@13800000002" in body["text"]["content"]
    # DingTalk's signature: HMAC-SHA256 of "timestamp\nsecret" with the secret, Base64, in the query.
    stamp = request["query"]["timestamp"]
    expected = base64.b64encode(
        hmac.new(b"SECx", f"{stamp}\nSECx".encode(), hashlib.sha256).digest()
    ).decode()
    assert request["query"]["sign"] == expected and request["query"]["access_token"] == "t"
    with engine.sessions() as session:
        assert unread_count(session, "tech2") == 1


def test_a_breach_notifies_the_supervisor_and_escalates(demo: Engine) -> None:
    engine = demo
    with engine.writer.begin() as session:
        save_role_default(
            session, "service_supervisor", ["sla_breached", "escalation"], ["inapp", "feishu"], "admin1"
        )
    case = register_for_dispatch(engine, distance_band="remote")
    clock.freeze(shanghai(2026, 11, 25, 9, 1))
    fire_timers(engine)
    breach = rows(engine, kind="sla_breached", recipient="sup1")
    assert {n.medium for n in breach} == {"inapp", "feishu"}
    assert breach[0].params["business_number"] and breach[0].params["sla"] == "dispatch"
    escalation = rows(engine, kind="escalation", recipient="sup1")
    assert {n.medium for n in escalation} == {"inapp", "feishu"}
    assert escalation[0].instance_id == case
    assert rows(engine, kind="sla_breached", recipient="cs1") == []  # not a supervisor
    with RobotSink({"code": 0, "msg": "success"}) as robot:
        feishu = RobotChannel("feishu", robot.url("/open-apis/bot/v2/hook/x"), "fs-secret")
        # sup1 and sup2, the two supervisors: the breach and the escalation each.
        assert deliverer(engine, feishu=feishu).drain().delivered == 4
    assert {n.recipient for n in rows(engine, medium="feishu")} == {"sup1", "sup2"}
    for request in robot.requests:
        body = request["json"]
        assert body["msg_type"] == "text" and "content" in body and body["content"]["text"]
        # Feishu's signature: HMAC-SHA256 with key "timestamp\nsecret" over nothing, Base64.
        expected = base64.b64encode(
            hmac.new(f"{body['timestamp']}\nfs-secret".encode(), b"", hashlib.sha256).digest()
        ).decode()
        assert body["sign"] == expected
    assert any("超过服务时限" in r["json"]["content"]["text"] for r in robot.requests)


def test_wecom_gets_its_format_and_a_robot_error_is_retried_with_back_off(demo: Engine) -> None:
    engine = demo
    with engine.writer.begin() as session:
        save_preference(session, "sup1", ["task_offered"], ["wecom"], mobile="13900000001")
    register_for_dispatch(engine)
    [note] = rows(engine, recipient="sup1", medium="wecom")
    with RobotSink({"errcode": 93000, "errmsg": "invalid webhook url"}) as robot:
        wecom = RobotChannel("wecom", robot.url("/cgi-bin/webhook/send?key=k"))
        assert deliverer(engine, wecom=wecom).drain().retrying == 1
        [again] = rows(engine, recipient="sup1", medium="wecom")
        assert again.state == "pending" and again.attempts == 1 and "93000" in (again.last_error or "")
        assert again.next_attempt_at >= clock.now() + timedelta(seconds=29)
        assert deliverer(engine, wecom=wecom).drain().retrying == 0  # not before its pause
        robot.answer = {"errcode": 0, "errmsg": "ok"}
        clock.freeze(clock.now() + timedelta(seconds=31))
        assert deliverer(engine, wecom=wecom).drain().delivered == 1
    first, second = robot.requests
    assert first["json"] == second["json"]  # the retry sends the same message
    assert second["json"]["msgtype"] == "text"
    assert second["json"]["text"]["mentioned_mobile_list"] == ["13900000001"]
    assert second["query"] == {"key": "k"}
    assert rows(engine, recipient="sup1", medium="wecom")[0].id == note.id


def test_quiet_hours_defer_but_never_drop(demo: Engine) -> None:
    engine = demo
    clock.freeze(shanghai(2026, 11, 23, 22, 0))  # Monday evening, outside working time
    with engine.writer.begin() as session:
        save_preference(
            session,
            "tech2",
            ["task_assigned"],
            ["inapp", "email"],
            email="t2@example.cn",
            quiet="outside_working_time",
        )
        save_preference(
            session,
            "tech1",
            ["task_assigned"],
            ["email"],
            email="t1@example.cn",
            quiet="hours",
            quiet_from="21:00",
            quiet_until="07:30",
        )
    case = register_for_dispatch(engine)
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    [mail] = rows(engine, recipient="tech2", medium="email")
    assert mail.next_attempt_at == shanghai(2026, 11, 24, 8, 30)  # the next working morning
    [bell] = rows(engine, recipient="tech2", medium="inapp")
    assert bell.state == "delivered"  # the bell is never deferred
    with SmtpSink() as smtp:
        assert deliverer(engine, smtp).drain().delivered == 0
        clock.freeze(shanghai(2026, 11, 24, 8, 31))
        assert deliverer(engine, smtp).drain().delivered == 1
    assert [m["To"] for m in smtp.mails] == ["t2@example.cn"]


def test_mentions_and_a_finished_case(demo: Engine) -> None:
    from engine.runtime.collaboration import Collaboration

    engine = demo
    case = register_for_dispatch(engine)
    dispatch = open_task(engine, case, "task_dispatch")
    body = "@tech1 请带上电源板，@sup1 已知悉 @nobody。Ask @tech2."
    Collaboration(engine).add_comment(case, dispatch.id, body, SUP)
    mentioned = rows(engine, kind="mentioned")
    # Not the author, not unknown names; a sentence's full stop is not part of a name.
    assert [(n.recipient, n.medium) for n in mentioned] == [("tech1", "inapp"), ("tech2", "inapp")]
    assert mentioned[0].params["actor"] == "sup1" and "电源板" in mentioned[0].params["excerpt"]
    engine.terminate(case, SUP, "客户撤回报修")
    assert rows(engine, kind="case_finished") == []  # a terminated case did not finish


def test_a_refused_preference_changes_nothing(demo: Engine) -> None:
    engine = demo
    for kwargs in (
        {"events": ["exploded"], "channels": ["inapp"]},
        {"events": ["mentioned"], "channels": ["email"]},  # e-mail without an address
        {
            "events": ["mentioned"],
            "channels": ["inapp"],
            "quiet": "hours",
            "quiet_from": "25:00",
            "quiet_until": "07:00",
        },
        {"events": ["mentioned"], "channels": ["inapp"], "email": "not-an-address"},
    ):
        with pytest.raises(PreferenceInvalid), engine.writer.begin() as session:
            save_preference(session, "tech1", **kwargs)  # type: ignore[arg-type]
    register_for_dispatch(engine)
    assert {n.medium for n in rows(engine, recipient="sup1")} == {"inapp"}


def test_a_rolled_back_command_leaves_no_notification(demo: Engine) -> None:
    engine = demo
    case = register_for_dispatch(engine)
    dispatch = open_task(engine, case, "task_dispatch")
    before = len(rows(engine))
    with pytest.raises(FormInvalid):
        engine.complete(dispatch.id, {"technician": ""}, SUP)  # refused by the form
    assert len(rows(engine)) == before
    with engine.sessions() as session:
        assert session.get(Task, dispatch.id).state == "open"  # type: ignore[union-attr]


def test_due_soon_is_told_once_at_the_policy_share(demo: Engine) -> None:
    from engine.outbox.collect import scan_due_soon
    from processes.notifications import outbox_config

    engine = demo
    case = register_for_dispatch(engine)
    dispatch = open_task(engine, case, "task_dispatch")
    assert dispatch.due_at is not None
    config = outbox_config(engine.config.calendar)
    span = dispatch.due_at - dispatch.created_at
    clock.freeze(dispatch.created_at + span * 0.7)
    assert scan_due_soon(engine.writer, config) == 0
    clock.freeze(dispatch.created_at + span * 0.8)
    told = scan_due_soon(engine.writer, config)
    assert told >= 1
    assert scan_due_soon(engine.writer, config) == 0  # once
    assert {n.recipient for n in rows(engine, kind="due_soon")} >= {"sup1"}


def test_the_starter_hears_when_the_case_finishes(engine: Engine) -> None:
    from engine.accounts.users import create_user
    from engine.webhooks import verify
    from processes.notifications.customers import CustomerContact, notify_customer
    from processes.roles import ROLE_KEYS
    from tests.conftest import ROOT, actor

    fixtures = ROOT / "tests" / "fixtures"
    engine.deploy(
        {
            name: (fixtures / name).read_text()
            for name in ("mini.bpmn", "mini_first.form.json", "mini_start.form.json")
        }
    )
    with engine.writer.begin() as session:
        create_user(session, "cs1", "Customer-Service-2026!", ["customer_service"], ROLE_KEYS)
        create_user(session, "sup1", "Supervisor-2026!", ["service_supervisor"], ROLE_KEYS)
    cs, sup = actor("cs1", "customer_service"), actor("sup1", "service_supervisor")
    case = engine.start("mini", {"customer_name": "协和医院", "owner": "sup1", "divisor": "2"}, cs).id
    with engine.sessions() as session:
        first = session.scalar(select(Task).where(Task.instance_id == case, Task.state == "open"))
        assert first is not None
    engine.complete(first.id, {"amount": "5"}, cs)
    assert [(n.kind, n.recipient) for n in rows(engine, instance_id=case)] == [
        # The first step was not offered to cs1, who opened it by starting the case.
        ("task_assigned", "sup1"),  # the assignee expression named sup1
    ]
    with engine.sessions() as session:
        second = session.scalar(select(Task).where(Task.instance_id == case, Task.state == "open"))
        assert second is not None
    engine.complete(second.id, {}, sup)
    [finished] = rows(engine, kind="case_finished")
    assert (finished.recipient, finished.medium, finished.instance_id) == ("cs1", "inapp", case)

    # The customer's notices: e-mail and an SMS gateway, each stage once, with the status link.
    contact = CustomerContact(email="buyer@hospital.example.cn", phone="13700000000")
    with engine.writer.begin() as session:
        from engine.store.models import ProcessInstance

        row = session.get(ProcessInstance, case)
        assert row is not None
        link = lambda c: f"https://afterflow.example.cn/portal/status/{c.business_number}-token"  # noqa: E731
        assert notify_customer(session, row, "completed", link, contact, ["email", "sms"]) == 2
        assert notify_customer(session, row, "completed", link, contact, ["email", "sms"]) == 0
        with pytest.raises(ValueError):
            notify_customer(session, row, "exploded", link, contact, ["email"])
    from engine.outbox.gateway import SmsGatewayChannel

    with SmtpSink() as smtp, RobotSink() as gateway:
        sent = Deliverer(
            engine.writer,
            {
                "customer_email": EmailChannel(
                    SmtpSettings("127.0.0.1", smtp.port, sender="service@example.cn")
                ),
                "customer_sms": SmsGatewayChannel(gateway.url("/sms"), "gw-secret"),
            },
            make_renderer(),
        ).drain()
        assert sent.delivered == 2
    [mail] = smtp.mails
    assert mail["To"] == "buyer@hospital.example.cn"
    assert "/portal/status/" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [sms] = gateway.requests
    assert sms["json"]["to"] == "13700000000" and "请在此为我们的服务评分" in sms["json"]["text"]
    import json as _json

    body = _json.dumps(sms["json"], ensure_ascii=False).encode()
    assert verify("gw-secret", sms["headers"]["X-Afterflow-Signature"], body)


def test_the_due_soon_share_is_read_from_the_policy_table() -> None:
    from processes.notifications import DUE_SOON_SHARE, share_in
    from tests.conftest import DIAGRAMS

    text = (DIAGRAMS / "sla_policy.dmn").read_text()
    assert share_in(text) == 0.75
    changed = text.replace(
        '<outputEntry id="rule_notify_due_soon_amount"><text>0.75</text>',
        '<outputEntry id="rule_notify_due_soon_amount"><text>0.5</text>',
    )
    assert share_in(changed) == 0.5
    assert share_in(text.replace("'due_soon'", "'due_later'")) == DUE_SOON_SHARE
    assert share_in("<not xml") == DUE_SOON_SHARE


def test_the_doctor_says_whether_the_robots_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from web.ops.doctor import _robot_findings

    with RobotSink() as robot:
        monkeypatch.setenv("AFTERFLOW_DINGTALK_WEBHOOK", robot.url("/robot/send?access_token=t"))
        monkeypatch.setenv("AFTERFLOW_FEISHU_WEBHOOK", f"http://127.0.0.1:{free_port()}/hook")
        monkeypatch.setenv("AFTERFLOW_WECOM_WEBHOOK", "ftp://example.cn/x")
        lines = [finding.line() for finding in _robot_findings()]
    assert any(line.startswith("OK       robots: the DingTalk robot") for line in lines)
    assert any(
        line.startswith("SERIOUS  robots: the Feishu robot") and "cannot be reached" in line for line in lines
    )
    assert any(
        line.startswith("SERIOUS  robots: AFTERFLOW_WECOM_WEBHOOK is not an http(s) URL") for line in lines
    )


def test_daily_quiet_hours_end_on_the_calendars_wall_clock() -> None:
    from engine.calendar import WorkingCalendar
    from engine.outbox.preferences import Choice, not_before

    calendar = WorkingCalendar()
    night = Choice(
        "tech1",
        frozenset({"task_assigned"}),
        ("email",),
        quiet="hours",
        quiet_from="21:00",
        quiet_until="07:30",
    )
    lunch = Choice(
        "tech1",
        frozenset({"task_assigned"}),
        ("email",),
        quiet="hours",
        quiet_from="12:00",
        quiet_until="13:30",
    )
    assert not_before(night, "email", shanghai(2026, 11, 23, 22, 0), calendar) == shanghai(
        2026, 11, 24, 7, 30
    )
    assert not_before(night, "email", shanghai(2026, 11, 24, 6, 0), calendar) == shanghai(2026, 11, 24, 7, 30)
    assert not_before(night, "email", shanghai(2026, 11, 24, 12, 0), calendar) == shanghai(
        2026, 11, 24, 12, 0
    )
    assert not_before(lunch, "dingtalk", shanghai(2026, 11, 24, 12, 45), calendar) == shanghai(
        2026, 11, 24, 13, 30
    )
    assert not_before(lunch, "inapp", shanghai(2026, 11, 24, 12, 45), calendar) == shanghai(
        2026, 11, 24, 12, 45
    )
    # Outside working time: Saturday night waits for Monday morning's start (08:30).
    weekend = Choice("tech1", frozenset(), ("email",), quiet="outside_working_time")
    assert not_before(weekend, "email", shanghai(2026, 11, 28, 23, 0), calendar) == shanghai(
        2026, 11, 30, 8, 30
    )


def test_a_role_default_saved_by_another_process_reaches_the_next_command(demo: Engine) -> None:
    engine = demo
    other = build_engine(make_engine(engine.db.url.render_as_string(hide_password=False)))
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "notification_role_default.events" in statement:
            reads.append(statement)

    def offered_on(case: int) -> set[str]:
        found = rows(engine, kind="task_offered", recipient="sup2", instance_id=case)
        return {n.medium for n in found if n.params["task"] == "派工"}

    sa_event.listen(engine.db, "before_cursor_execute", seen)
    try:
        with other.writer.begin() as session:
            save_role_default(session, "service_supervisor", ["task_offered"], ["inapp", "wecom"], "admin")
        assert offered_on(register_for_dispatch(engine)) == {"inapp", "wecom"}
        assert len(reads) == 1, "this process had not read the roles' defaults yet"
        # Changed by the other process, at the same (frozen) instant: the next command sees it.
        with other.writer.begin() as session:
            save_role_default(session, "service_supervisor", ["task_offered"], ["inapp", "feishu"], "admin")
        assert offered_on(register_for_dispatch(engine)) == {"inapp", "feishu"}
        assert len(reads) == 2
        # Unchanged: the defaults this process knows serve its next command without a read.
        assert offered_on(register_for_dispatch(engine)) == {"inapp", "feishu"}
        assert len(reads) == 2
    finally:
        sa_event.remove(engine.db, "before_cursor_execute", seen)
        other.db.dispose()
