"""An administrator enters next year's schedule in a real browser; others may not open the page.

From 1 November the administrator sees 「2027 年放假安排尚未确认」, follows it to the calendar,
marks a company closure day, pastes the State Council's notice, reviews and saves its days,
and confirms the year: the banner is gone. Customer service gets a 403 on the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import clock
from engine.calendar import store
from engine.users import create_user
from processes.demo import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import Served, log_in, new_page, shot

pytestmark = pytest.mark.e2e

NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知

一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月6日（农历除夕、周六）至13日（农历正月初七、周六）放假调休，共8天。2月14日（周日）、2月20日（周六）上班。
"""


def test_an_administrator_marks_a_day_imports_the_notice_and_confirms_the_year(
    browser: Any, served: Served
) -> None:
    clock.freeze(datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with served.engine.writer.begin() as session:
        create_user(session, "admin", DEMO_PASSWORD, ("admin",), ROLE_KEYS, "管理员")
    page = new_page(browser, served.url)
    log_in(page, "admin")
    banner = page.locator("#calendar-banner")
    assert "2027 年放假安排尚未确认" in banner.inner_text()
    banner.locator("a").click()
    page.wait_for_load_state()
    assert "/admin/calendar" in page.url and "2027" in page.url
    assert page.locator("#year-status").inner_text() == "未确认"

    page.fill("#mark-day", "2027-03-01")
    page.select_option("#mark-kind", "holiday")
    page.fill("#mark-name", "公司停工")
    page.click("#mark-save")
    page.wait_for_load_state()
    assert "holiday" in (page.locator('td[data-day="2027-03-01"]').get_attribute("class") or "")

    page.fill("#notice-text", NOTICE_2027)
    page.click("#read-notice")
    page.wait_for_load_state()
    review = page.locator("#notice-review")
    assert review.locator("tbody tr").count() == 13  # 3 + 8 holidays, 2 make-up days
    with served.engine.sessions() as session:
        assert [d.day.isoformat() for d in store.year_days(session, 2027)] == ["2027-03-01"]  # not yet
    page.click("#save-notice")
    page.wait_for_load_state()
    assert "holiday" in (page.locator('td[data-day="2027-02-08"]').get_attribute("class") or "")
    assert "workday" in (page.locator('td[data-day="2027-02-14"]').get_attribute("class") or "")
    assert page.locator("#calendar-banner").count() == 1
    shot(page, "admin-calendar.png")

    page.click("#confirm-year")
    page.wait_for_load_state()
    assert page.locator("#year-status").inner_text() == "已确认"
    assert page.locator("#calendar-banner").count() == 0
    page.goto("/")
    assert page.locator("#calendar-banner").count() == 0

    other = new_page(browser, served.url)
    log_in(other, "cs1")
    assert other.locator("#nav-calendar").count() == 0
    response = other.goto("/admin/calendar")
    assert response is not None and response.status == 403
