"""The administrators' calendar page, the unconfirmed-year banner and the 「暂定」 mark of due times."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import store
from engine.users import create_user
from processes.demo import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web, flashes

SH = ZoneInfo("Asia/Shanghai")
NOTICE_2026 = (Path(__file__).resolve().parent.parent / "fixtures" / "notices" / "2026.txt").read_text(
    encoding="utf-8"
)


@pytest.fixture(autouse=True)
def administrator(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "admin", DEMO_PASSWORD, ("admin",), ROLE_KEYS, "管理员")


def test_only_administrators_may_open_the_calendar_page(web: Web) -> None:
    assert web.client("cs1").get("/admin/calendar").status_code == 403
    assert web.client("cs1").post("/admin/calendar/confirm", data={"year": "2027"}).status_code == 403
    page = web.client("admin").get("/admin/calendar?year=2026")
    assert page.status_code == 200
    assert 'data-day="2026-02-14"' in page.text and 'class="workday" data-day="2026-02-14"' in page.text
    assert 'class="holiday" data-day="2026-02-23"' in page.text


def test_a_marked_day_and_a_confirmed_year_are_stored(web: Web) -> None:
    admin = web.client("admin")
    response = admin.post(
        "/admin/calendar/day", data={"year": "2027", "day": "2027-02-08", "kind": "holiday", "name": "春节"}
    )
    assert response.status_code == 302
    page = admin.get("/admin/calendar?year=2027")
    assert 'class="holiday company" data-day="2027-02-08"' in page.text
    assert 'id="year-status" class="unconfirmed"' in page.text
    admin.post("/admin/calendar/confirm", data={"year": "2027"})
    with web.engine.sessions() as session:
        assert store.is_confirmed(session, 2027)


def test_bad_input_changes_nothing(web: Web) -> None:
    admin = web.client("admin")
    response = admin.post(
        "/admin/calendar/day",
        data={"year": "2027", "day": "2027-02-30", "kind": "holiday"},
        follow_redirects=True,
    )
    assert any("2027-02-08" in message for message in flashes(response.text))
    response = admin.post(
        "/admin/calendar/notice", data={"year": "2027", "text": "不是通知"}, follow_redirects=True
    )
    assert response.status_code == 200
    with web.engine.sessions() as session:
        assert store.year_days(session, 2027) == []


def test_a_pasted_notice_is_shown_for_review_before_it_is_saved(web: Web) -> None:
    admin = web.client("admin")
    review = admin.post(
        "/admin/calendar/notice", data={"year": "2026", "text": NOTICE_2026.replace("2026", "2031")}
    )
    assert review.status_code == 200 and 'id="notice-review"' in review.text
    with web.engine.sessions() as session:
        assert store.year_days(session, 2031) == []  # nothing saved yet
    admin.post(
        "/admin/calendar/notice/save", data={"year": "2031", "text": NOTICE_2026.replace("2026", "2031")}
    )
    with web.engine.sessions() as session:
        assert len(store.year_days(session, 2031)) == 39


def test_a_due_time_counted_into_an_unconfirmed_year_is_marked_provisional(web: Web) -> None:
    web.freeze(datetime(2026, 12, 31, 16, 0, tzinfo=SH))
    cs = web.client("cs1")
    number = web.start_repair(cs)
    task = web.open_task(number, "task_remote_guidance")
    assert task.due_at is not None and task.due_at.astimezone(SH).year == 2027
    inbox = cs.get("/", query_string={"tab": "offered"}).text
    assert "badge provisional" in inbox and "2027" in inbox
    assert "badge provisional" in cs.get(f"/tasks/{task.id}").text
    case_page = web.client("sup1").get(f"/manage/cases/{task.instance_id}").text
    assert 'id="case-due"' in case_page and "badge provisional" in case_page
    with web.engine.writer.begin() as session:
        store.confirm_year(session, 2027, "admin")
    assert "badge provisional" not in cs.get("/", query_string={"tab": "offered"}).text


def test_administrators_see_the_banner_from_november_until_the_year_is_confirmed(web: Web) -> None:
    web.freeze(datetime(2026, 10, 31, 12, 0, tzinfo=SH))
    admin = web.client("admin")
    assert 'id="calendar-banner"' not in admin.get("/admin/calendar").text
    web.freeze(datetime(2026, 11, 1, 9, 0, tzinfo=SH))
    page = admin.get("/").text
    assert 'id="calendar-banner"' in page and "2027" in page
    assert 'id="calendar-banner"' not in web.client("cs1").get("/").text
    with web.engine.writer.begin() as session:
        store.confirm_year(session, 2027, "admin")
    assert 'id="calendar-banner"' not in admin.get("/").text


def test_a_day_marked_on_the_page_re_times_open_cases_and_the_case_shows_why(web: Web) -> None:
    web.freeze(datetime(2026, 12, 18, 16, 0, tzinfo=SH))
    number = web.start_repair(web.client("cs1"))
    task = web.open_task(number, "task_remote_guidance")
    assert task.due_at == datetime(2026, 12, 21, 11, 0, tzinfo=SH)
    response = web.client("admin").post(
        "/admin/calendar/day",
        data={"year": "2026", "day": "2026-12-21", "kind": "holiday", "name": "公司停工"},
        follow_redirects=True,
    )
    assert any("2026-12-21" in message and "2" in message for message in flashes(response.text))
    assert web.open_task(number, "task_remote_guidance").due_at == datetime(2026, 12, 22, 11, 0, tzinfo=SH)
    timeline = web.client("sup1").get(f"/manage/cases/{task.instance_id}").text
    assert "截止时间因工作日历调整由 2026-12-21 11:00 改为 2026-12-22 11:00" in timeline


def test_a_new_working_day_re_times_open_cases_and_bad_settings_change_nothing(web: Web) -> None:
    web.freeze(datetime(2026, 12, 18, 16, 0, tzinfo=SH))
    number = web.start_repair(web.client("cs1"))
    admin = web.client("admin")
    bad = admin.post(
        "/admin/calendar/settings",
        data={"year": "2026", "timezone": "Asia/Shanghai", "work_start": "18:00", "work_end": "09:00"},
        follow_redirects=True,
    )
    assert any("work_start" in message for message in flashes(bad.text))
    assert web.open_task(number, "task_remote_guidance").due_at == datetime(2026, 12, 21, 11, 0, tzinfo=SH)
    admin.post(
        "/admin/calendar/settings",
        data={"year": "2026", "timezone": "Asia/Shanghai", "work_start": "09:00", "work_end": "17:00"},
    )
    # Friday 16:00–17:00 is one hour; Monday from 09:00 the other three: 12:00.
    assert web.open_task(number, "task_remote_guidance").due_at == datetime(2026, 12, 21, 12, 0, tzinfo=SH)
    assert 'value="09:00"' in admin.get("/admin/calendar?year=2026").text
