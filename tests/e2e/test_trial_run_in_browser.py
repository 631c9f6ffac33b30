"""A process owner builds a new process, trial-runs it on a simulated clock, deploys it and starts a case.

owner1 creates 现场复核 from the library, adds a second lane (服务主任) with a second user task,
gives both tasks a form and a due time through the side panel, and opens the trial run from the
editor. The trial starts on a Friday afternoon: the due times it shows are the company
calendar's (over the weekend), the answers are typed into the tasks' forms, the path is coloured
on the diagram, and nothing is written to real cases. Then the process is deployed, cs1 starts a
real case, and its first task is in cs1's inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.runtime import Engine
from engine.store.models import ProcessInstance, Task
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page
from tests.e2e.test_modeler_in_browser import owner  # noqa: F401  (owner1, a process owner)

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = "site_check"

ADD_LANE_AND_TASK = """
() => {
  const m = window.afterflowModeler.bpmn;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling');
  const lane = modeling.addLane(registry.get('lane_1'), 'bottom');
  modeling.updateProperties(lane, { name: '服务主任' });
  const participant = registry.get('participant_site_check');
  const shape = modeling.createShape(
    { type: 'bpmn:UserTask' }, { x: 640, y: lane.y + lane.height / 2 }, participant);
  modeling.updateProperties(shape, { id: 'task_2' });
  modeling.reconnectEnd(registry.get('flow_2'), shape, { x: shape.x, y: shape.y + shape.height / 2 });
  modeling.connect(shape, registry.get('end'), { type: 'bpmn:SequenceFlow' });
  m.get('selection').select(shape);
  return shape.id;
}
"""


def next_friday_afternoon() -> datetime:
    """The coming Friday at 16:00 in Shanghai (a week on when today is Friday)."""
    today = clock.now().astimezone(SHANGHAI).date()
    days = (4 - today.weekday()) % 7 or 7
    day = today + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=SHANGHAI)


def calendar_due(engine: Engine, start: datetime, amount: float, unit: str) -> datetime:
    """What the company calendar in the database says ``amount`` working units after ``start`` is."""
    with engine.sessions() as session:
        engine.refresh_calendar(session)
    return engine.config.calendar.count_due(start, amount, unit)


def select_element(page: Any, element_id: str) -> None:
    page.evaluate(
        "(id) => { const m = window.afterflowModeler.bpmn;"
        " m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )


def set_panel(page: Any, field: str, value: str) -> None:
    page.fill(f"#panel-{field}", value)
    page.locator(f"#panel-{field}").dispatch_event("change")


def cases_of(engine: Engine) -> int:
    with engine.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_key == KEY)
        )
        return int(count or 0)


def test_owner_trial_runs_a_new_process_then_deploys_it_and_a_case_reaches_the_inbox(
    browser: Any,
    owner: Served,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    engine = owner.engine
    page = new_page(browser, owner.url)
    log_in(page, "owner1", "/modeler/")
    page.fill("#new-process-form input[name=process_key]", KEY)
    page.fill("#new-process-form input[name=name]", "现场复核")
    page.select_option("#new-process-form select[name=role]", "customer_service")
    page.click("#new-process-form button[type=submit]")
    page.wait_for_selector("#modeler-app[data-ready=true]")

    # Two user tasks in two lanes, each with a form and a due time, through the side panel.
    assert page.evaluate(ADD_LANE_AND_TASK) == "task_2"
    set_panel(page, "name", "主任复核")
    set_panel(page, "name_en", "Supervisor review")
    expect(page.locator("#panel-lane")).to_have_value("服务主任")
    set_panel(page, "formKey", "repair_escalation")
    set_panel(page, "dueTime", "working_days(1)")
    select_element(page, "task_1")
    expect(page.locator("#panel-id")).to_have_value("task_1")
    set_panel(page, "name_en", "First step")
    set_panel(page, "formKey", "repair_remote_guidance")
    set_panel(page, "dueTime", "working_hours(4)")
    page.click("#validate")
    expect(page.locator("#modeler-app")).to_have_attribute("data-validated", "ok")

    # The trial run, reached from the editor (the edits are saved as the draft on the way).
    page.click("#trial-link")
    page.wait_for_selector("#trial-app[data-ready=true]")
    start = next_friday_afternoon()
    page.fill("#trial-start", start.strftime("%Y-%m-%dT%H:%M"))
    page.click("#trial-run")
    expect(page.locator("#trial-app")).to_have_attribute("data-runs", "1")
    first = page.locator(".trial-task[data-element=task_1]")
    due = datetime.fromisoformat(first.locator("p[data-due]").get_attribute("data-due") or "")
    assert due == calendar_due(engine, start, 4, "working_hours")
    assert due.astimezone(SHANGHAI).weekday() < 5 and due > start + timedelta(hours=8), "over the weekend"

    first.locator("[data-field=solved_by_phone]").select_option("no")
    first.locator(".trial-minutes").fill("30")
    first.locator("button").click()
    expect(page.locator("#trial-app")).to_have_attribute("data-runs", "2")
    second = page.locator(".trial-task[data-element=task_2]")
    due = datetime.fromisoformat(second.locator("p[data-due]").get_attribute("data-due") or "")
    assert due == calendar_due(engine, start + timedelta(minutes=30), 1, "working_days")
    assert page.evaluate(
        "() => { const c = window.afterflowTrial.viewer.get('canvas');"
        " return c.hasMarker('task_1', 'af-trial-done') && c.hasMarker('task_2', 'af-trial-open'); }"
    )

    second.locator("[data-field=action_taken]").fill("已复核")
    second.locator("button").click()
    expect(page.locator("#trial-app")).to_have_attribute("data-runs", "3")
    expect(page.locator("#trial-events tr[data-kind=ended]")).to_have_count(1)
    assert cases_of(engine) == 0, "the trial wrote no case"

    # Deploy from the editor, then cs1 starts a real case and finds its first task in the inbox.
    page.click("text=返回编辑器")
    page.wait_for_selector("#modeler-app[data-ready=true]")
    page.fill("#change-summary", "新建现场复核流程")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    page.close()

    worker = new_page(browser, owner.url)
    log_in(worker, "cs1", f"/start/{KEY}")
    worker.click("#start")
    worker.wait_for_load_state()
    with engine.sessions() as session:
        number = session.execute(
            select(ProcessInstance.business_number)
            .join(Task, Task.instance_id == ProcessInstance.id)
            .where(ProcessInstance.process_key == KEY, Task.state == "open", Task.role == "customer_service")
        ).scalar_one()
    worker.goto("/")
    expect(worker.locator("body")).to_contain_text(number)
    worker.close()


def test_the_start_form_of_a_process_asks_for_the_sample_data_and_names_what_is_missing(
    browser: Any,
    owner: Served,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = new_page(browser, owner.url)
    log_in(page, "owner1", "/modeler/repair_service/trial")
    page.wait_for_selector("#trial-app[data-ready=true]")
    page.click("#trial-run")
    expect(page.locator("#trial-app")).to_have_attribute("data-runs", "1")
    fields = page.locator("#trial-start-fields")
    expect(fields).to_be_visible()
    expect(fields.locator("[data-field=serial_number]")).to_have_count(1)
    expect(fields.locator(".error")).not_to_have_count(0)
    expect(page.locator("#trial-open .trial-task")).to_have_count(0)
    page.close()


def test_a_recorded_repair_case_replayed_on_a_changed_gateway_shows_the_step(
    browser: Any,
    owner: Served,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    from engine.accounts.users import Actor
    from tests.web.conftest import REPAIR_REQUEST

    expect.set_options(timeout=TIMEOUT_MS)
    engine = owner.engine
    cs, sup = Actor("cs1", frozenset({"customer_service"})), Actor("sup1", frozenset({"service_supervisor"}))
    started = engine.start("repair_service", REPAIR_REQUEST, cs)
    with engine.sessions() as session:
        guidance = session.scalars(
            select(Task).where(Task.instance_id == started.id, Task.state == "open")
        ).one()
    engine.complete(guidance.id, {"solved_by_phone": "no"}, cs)
    with engine.sessions() as session:
        dispatch = session.scalars(
            select(Task).where(Task.instance_id == started.id, Task.state == "open")
        ).one()
    engine.complete(dispatch.id, {"technician": "tech1"}, sup)

    page = new_page(browser, owner.url)
    log_in(page, "owner1", "/modeler/repair_service/edit")
    page.wait_for_selector("#modeler-app[data-ready=true]")
    select_element(page, "flow_solved_yes")
    set_panel(page, "condition", "solved_by_phone == 'no'")
    page.click("#trial-link")  # the edit is saved as the draft on the way
    page.wait_for_selector("#trial-app[data-ready=true]")
    page.select_option("#trial-case", str(started.id))
    page.click("#trial-replay")
    difference = page.locator("#trial-difference")
    expect(difference).to_have_attribute("data-recorded", "task_dispatch")
    expect(difference).to_contain_text("电话指导")
    assert difference.get_attribute("data-step") == "1"
    assert page.evaluate(
        "() => window.afterflowTrial.viewer.get('canvas').hasMarker('task_dispatch', 'af-trial-diff')"
    )
    page.close()
