"""The bell in a real browser, under the Content-Security-Policy: its static script fetches the count,
the list marks it read, and the badge disappears."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.store.models import Task
from tests.e2e.conftest import Served, log_in, new_page
from tests.web.conftest import REPAIR_REQUEST

pytestmark = pytest.mark.e2e


def test_the_bell_shows_a_dispatch_and_goes_quiet_once_read(browser: Any, served: Served) -> None:
    from playwright.sync_api import expect

    engine = served.engine
    page = new_page(browser, served.url)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, "tech2")
    bell = page.locator("#bell")
    badge = page.locator("#bell .bell-count")
    expect(bell).to_have_attribute("data-unread", "0")
    assert badge.is_hidden()

    case = engine.start("repair_service", REPAIR_REQUEST, Actor("cs1", frozenset({"customer_service"}))).id
    with engine.sessions() as session:
        guidance = session.scalar(select(Task).where(Task.instance_id == case, Task.state == "open"))
        assert guidance is not None
    engine.complete(guidance.id, {"solved_by_phone": "no"}, Actor("cs1", frozenset({"customer_service"})))
    with engine.sessions() as session:
        dispatch = session.scalar(select(Task).where(Task.instance_id == case, Task.state == "open"))
        assert dispatch is not None
    engine.complete(dispatch.id, {"technician": "tech2"}, Actor("sup1", frozenset({"service_supervisor"})))

    page.reload()
    expect(bell).to_have_attribute("data-unread", "1")
    assert badge.is_visible() and badge.inner_text() == "1"
    page.click("#bell")
    page.wait_for_load_state()
    assert page.locator("#notifications li").count() == 1
    assert "新任务" in page.locator("#notifications li").first.inner_text()
    expect(bell).to_have_attribute("data-unread", "0")
    assert badge.is_hidden()
    assert violations == []
