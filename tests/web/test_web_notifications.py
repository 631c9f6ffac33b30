"""The bell: its count from a small JSON endpoint, the list marked read on visit; preferences and role defaults."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.accounts.users import create_user
from engine.outbox.models import Notification, NotificationPreference, NotificationRoleDefault
from engine.outbox.preferences import save_preference
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web

ADMIN_PASSWORD = "Ad-min-pass-2026"


def unread(web: Web, username: str) -> int:
    response = web.client(username).get("/notifications/unread.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return int(response.get_json()["unread"])


def test_the_bell_counts_a_dispatch_and_the_list_marks_it_read(web: Web) -> None:
    tech = web.client("tech1")
    page = tech.get("/")
    # The page carries the bell and the static script; the count is not in the page itself.
    assert 'id="bell"' in page.text and "notifications.js" in page.text
    assert re.search(r'data-count-url="/notifications/unread.json"', page.text)
    assert unread(web, "tech1") == 0
    number, arrival = web.repair_at_arrival("tech1")
    assert unread(web, "tech1") == 1
    assert unread(web, "tech2") == 0
    listing = tech.get("/notifications")
    assert listing.status_code == 200
    assert number in listing.text and f"/tasks/{arrival.id}" in listing.text
    assert "新任务" in listing.text  # worded in the reader's language (Chinese by default)
    assert unread(web, "tech1") == 0  # visiting the list read it
    assert "bell-count" in tech.get("/notifications").text


def test_the_list_reads_in_english_too(web: Web) -> None:
    web.repair_at_arrival("tech1")
    tech = web.client("tech1")
    tech.post("/language", data={"lang": "en"})
    listing = tech.get("/notifications")
    assert "[Assigned]" in listing.text and "Notifications" in listing.text


def test_preferences_are_saved_and_bad_ones_refused_in_the_users_language(web: Web) -> None:
    tech = web.client("tech1")
    page = tech.get("/notifications/preferences")
    assert page.status_code == 200
    # No SMTP or robot settings here: the page says so next to those channels, not next to the bell.
    assert page.text.count("本服务器尚未配置") == 4
    refused = tech.post(
        "/notifications/preferences",
        data={"events": ["task_assigned"], "channels": ["inapp", "email"], "email": "", "quiet": "none"},
    )
    assert refused.status_code == 422
    assert "电子邮件需要填写您的邮箱地址" in refused.text
    with web.engine.sessions() as session:
        assert session.get(NotificationPreference, "tech1") is None  # nothing kept
    saved = tech.post(
        "/notifications/preferences",
        data={
            "events": ["task_assigned", "mentioned"],
            "channels": ["inapp", "email"],
            "email": "tech1@example.cn",
            "quiet": "hours",
            "quiet_from": "22:00",
            "quiet_until": "07:30",
        },
    )
    assert saved.status_code == 302
    with web.engine.sessions() as session:
        pref = session.get(NotificationPreference, "tech1")
        assert pref is not None
        assert (pref.events, pref.channels, pref.quiet_from) == (
            ["mentioned", "task_assigned"],
            ["email", "inapp"],
            "22:00",
        )
    web.repair_at_arrival("tech1")
    with web.engine.sessions() as session:
        mine = {
            n.medium for n in session.scalars(select(Notification).where(Notification.recipient == "tech1"))
        }
    assert mine == {"inapp", "email"}


def test_administrators_set_role_defaults_others_may_not(web: Web) -> None:
    assert web.client("tech1").get("/admin/notifications").status_code == 403
    with web.engine.writer.begin() as session:
        create_user(session, "admin1", ADMIN_PASSWORD, ("admin",), ROLE_KEYS, "系统管理员")
    admin = web.app.test_client()
    assert admin.post("/login", data={"username": "admin1", "password": ADMIN_PASSWORD}).status_code == 302
    page = admin.get("/admin/notifications")
    assert page.status_code == 200 and 'id="role-technician"' in page.text
    bad = admin.post(
        "/admin/notifications", data={"role": "astronaut", "events": ["mentioned"], "channels": ["inapp"]}
    )
    assert bad.status_code == 422
    ok = admin.post(
        "/admin/notifications",
        data={"role": "technician", "events": ["task_assigned"], "channels": ["inapp", "wecom"]},
    )
    assert ok.status_code == 302
    # A technician without a choice of their own sees the defaults of the role on their page.
    mine = web.client("tech1").get("/notifications/preferences").text
    assert 'value="wecom" checked' in mine and 'value="email" checked' not in mine
    assert 'value="task_assigned" checked' in mine and 'value="mentioned" checked' not in mine
    with web.engine.sessions() as session:
        row = session.get(NotificationRoleDefault, "technician")
        assert row is not None and row.channels == ["inapp", "wecom"] and row.updated_by == "admin1"
    web.repair_at_arrival("tech1")
    with web.engine.sessions() as session:
        mine = {
            n.medium for n in session.scalars(select(Notification).where(Notification.recipient == "tech1"))
        }
    assert mine == {"inapp", "wecom"}


def test_the_outbox_gauges_move_with_pending_and_failed_notifications_and_webhooks(web: Web) -> None:
    from engine.webhooks import subscribe
    from tests.web.test_web_ops import _metric, _samples

    scraper = web.client()
    before = _samples(scraper.get("/metrics").text)
    for name in (
        "afterflow_notifications_pending",
        "afterflow_notifications_failed",
        "afterflow_webhooks_pending",
        "afterflow_webhooks_failed",
    ):
        assert (name, ()) in before
    with web.engine.writer.begin() as session:
        save_preference(session, "tech1", ["task_assigned"], ["inapp", "email"], email="tech1@example.cn")
        subscribe(session, "http://127.0.0.1:9/hook", ["case.started"], "admin1")
    web.repair_at_arrival("tech1")
    from engine.webhooks import outbox as webhook_outbox

    with web.engine.writer.begin() as session:
        webhook_outbox.enqueue(session)
    middle = _samples(scraper.get("/metrics").text)
    assert (
        _metric(middle, "afterflow_notifications_pending")
        == _metric(before, "afterflow_notifications_pending") + 1
    )
    assert _metric(middle, "afterflow_webhooks_pending") == _metric(before, "afterflow_webhooks_pending") + 1
    with web.engine.writer.begin() as session:
        for row in session.scalars(select(Notification).where(Notification.state == "pending")):
            row.state = "failed"
    after = _samples(scraper.get("/metrics").text)
    assert _metric(after, "afterflow_notifications_pending") == _metric(
        before, "afterflow_notifications_pending"
    )
    assert (
        _metric(after, "afterflow_notifications_failed")
        == _metric(before, "afterflow_notifications_failed") + 1
    )


def test_a_comment_mentioning_a_colleague_rings_their_bell(web: Web) -> None:
    number, arrival = web.repair_at_arrival("tech1")
    tech = web.client("tech1")
    assert "输入 @ 和用户名即可提醒同事" in tech.get(f"/tasks/{arrival.id}").text
    before = unread(web, "sup1")
    sent = tech.post(f"/tasks/{arrival.id}/comments", data={"body": "现场缺少电源板，@sup1 请协调备件。"})
    assert sent.status_code == 302
    assert unread(web, "sup1") == before + 1
    assert unread(web, "tech1") == 1  # only the dispatch: the author is not told of their own comment
    listing = web.client("sup1").get("/notifications").text
    assert "tech1 在 " + number in listing and "请协调备件" in listing
