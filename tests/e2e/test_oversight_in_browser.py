"""The managers' view in a real browser: a case on its marked diagram, the KPI charts drawn.

sup1 (a service supervisor, one of the manager roles) opens a repair case: bpmn-js draws the
diagram and the completed 电话指导 and the active 派工 carry the marker classes; the KPI
dashboard draws its ECharts trend (SVG) with the months of data. With AFTERFLOW_SCREENSHOTS=1
some generated cases are added first and the pages are kept as docs/screenshots/oversight-*.png.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.store.models import ProcessInstance, Task
from processes.demo.load import load_cases
from processes.demo.records import load_demo_records
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page, shot

pytestmark = pytest.mark.e2e
CS = Actor("cs1", frozenset({"customer_service"}))
REQUEST = {
    "channel": "phone",
    "customer_name": "华东精密机械有限公司",
    "customer_phone": "021-5555-0101",
    "customer_address": "上海市浦东新区张江路 88 号",
    "product_model": "HX-200",
    "serial_number": "SN-E2E",
    "fault_description": "主轴异响",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": True,
    "cause": "normal",
}
RATINGS = {
    k: "satisfied" for k in ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
}


def open_task(served: Served, case: int, spec_id: str) -> str:
    with served.engine.sessions() as session:
        task_id = session.scalar(
            select(Task.id).where(Task.instance_id == case, Task.spec_id == spec_id, Task.state == "open")
        )
    assert task_id is not None
    return task_id


@pytest.fixture(scope="module")
def cases(served: Served) -> dict[str, int]:
    engine = served.engine
    if os.environ.get("AFTERFLOW_SCREENSHOTS") == "1":
        with engine.writer.begin() as session:
            load_demo_records(session)
        load_cases(engine, 60, seed=9, end=datetime.now(UTC) - timedelta(minutes=1), days=120)
    at_dispatch = engine.start("repair_service", REQUEST, CS).id
    engine.complete(open_task(served, at_dispatch, "task_remote_guidance"), {"solved_by_phone": "no"}, CS)
    done = engine.start("repair_service", REQUEST, CS).id
    engine.complete(open_task(served, done, "task_remote_guidance"), {"solved_by_phone": "yes"}, CS)
    engine.complete(open_task(served, done, "task_follow_up"), RATINGS, CS)
    with engine.sessions() as session:
        status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == done))
    assert status == "completed"
    return {"at_dispatch": at_dispatch, "done": done}


def test_the_case_diagram_marks_completed_and_active_steps(
    browser: Any, base_url: str, cases: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = new_page(browser, base_url)
    log_in(page, "sup1", then=f"/manage/cases/{cases['at_dispatch']}")
    expect(page.locator("#case-diagram[data-ready=true]")).to_have_count(1)
    completed = page.locator(
        '#case-diagram svg .djs-element.case-completed[data-element-id="task_remote_guidance"]'
    )
    active = page.locator('#case-diagram svg .djs-element.case-active[data-element-id="task_dispatch"]')
    expect(completed).to_have_count(1)
    expect(active).to_have_count(1)
    # Readable without zooming: the whole diagram at the page's width, never below 0.65 of its size.
    diagram = page.locator("#case-diagram")
    assert float(diagram.get_attribute("data-scale") or 0) >= 0.65
    box = diagram.bounding_box()
    assert box is not None and box["width"] >= 1000 and box["height"] > 200
    dispatch_box = active.bounding_box()
    assert dispatch_box is not None and dispatch_box["width"] >= 0.65 * 100  # a task is drawn 100 wide
    shot(page, "oversight-case.png")

    page.goto("/manage/cases")
    expect(page.locator("#cases tbody tr").first).to_be_visible()
    shot(page, "oversight-cases.png")
    page.goto("/manage/processes")
    page.locator("#process-versions a", has_text="维修").first.click()
    expect(page.locator("#case-diagram[data-ready=true] .step-counts").first).to_be_visible()
    shot(page, "oversight-process.png")


def test_the_kpi_dashboard_draws_its_charts(browser: Any, base_url: str, cases: dict[str, int]) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = new_page(browser, base_url)
    log_in(page, "sup1", then="/manage/kpis")
    expect(page.locator("#kpi-trend[data-ready=true] svg")).to_have_count(1)
    # A line with data points and the target line are drawn.
    assert page.locator("#kpi-trend svg path").count() > 3
    expect(page.locator("#kpi-trend svg")).to_contain_text("target")
    expect(page.locator("#kpi-timeliness .kpi-value")).not_to_have_text("—%")
    shot(page, "oversight-kpis.png")
    page.goto("/manage/complaints")
    shot(page, "oversight-complaints.png")
