"""A whole repair case walked through the inbox in a real browser by five different users.

register (cs1, start form) → 电话指导, not solved (cs1) → 派工 to tech1 (sup1) → 到达现场 and
现场维修 (tech1, on a tablet) → 验收 (sup2) → 回访 (cs2) → the case is closed. Each user finds
the task in its own inbox tab before opening it. On the way: a required field left empty is
marked next to the field with the input kept; cs2, who had the same task open, is told cs1
already did it; sup1's open inbox announces the new 派工 by polling; tech2 gets a 403 on the
supervisor's task and never sees tech1's; the language switch turns the pages English; the
tablet (820×1180) never scrolls sideways.

The forms are filled from their form files (diagrams/forms/*.form.json, as deployed): every
required field gets a value, and the fields that steer the case (solved by phone, technician,
outcome, acceptance) get the happy path's answers. The diagram was read for its element ids;
the walk follows whatever task the case offers next and checks the path's steps come in order,
so a step added to the diagram shows up as a clear failure naming it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.definitions.forms import FormDefinition, FormField
from engine.store.models import ProcessInstance, Task
from processes.demo.signatures import signed_by
from tests.e2e.conftest import TABLET, TIMEOUT_MS, Served, draw_signature, log_in, new_page, shot

pytestmark = pytest.mark.e2e

CUSTOMER = "江南纺织机械有限公司"
#: The path through diagrams/repair_service.bpmn: (element id, who does it).
PATH = [
    ("task_remote_guidance", "cs1"),
    ("task_dispatch", "sup1"),
    ("task_arrival", "tech1"),
    ("task_repair", "tech1"),
    ("task_acceptance", "sup2"),
    ("task_follow_up", "cs2"),
]
#: Who takes each step: five different demo users, each finding its task in its own inbox.
USER_OF_STEP = dict(PATH)
USER_OF_ROLE = {"customer_service": "cs1", "service_supervisor": "sup1", "technician": "tech1"}
#: Answers that steer the case along the happy path (every other required field gets a plain value).
ANSWERS: dict[str, Any] = {
    "customer_name": CUSTOMER,
    "customer_phone": "0571-8888-0202",
    "customer_address": "杭州市滨江区江南大道 100 号",
    "product_model": "JN-350 剑杆织机",
    "fault_description": "开机后主轴异响，无法正常运转。",
    "urgency": "normal",
    "key_customer": True,  # 重点客户: a class of customer, not an urgency [001 4.1]
    "distance_band": "urban",
    "contract_in_force": True,  # a maintenance contract: an A case, dispatched when not solved by phone
    "cause": "normal",
    "solved_by_phone": "no",
    "guidance_notes": "已指导客户重启设备，仍有异响。",
    "technician": "tech1",
    "fault_level": "minor",
    "outcome": "fixed_on_site",
    "work_done": "更换主轴轴承。",
    "parts_borrowed": False,
    "customer_signature": "王建国",  # drawn on the page; a signed image through the engine
    "accepted": "yes",
    "has_complaint": False,
}
RATING = "satisfied"


# --- forms from their files -------------------------------------------------------------------


def answer(form_field: FormField) -> Any:
    """The value the walk gives a field: the path's answer, else a plain valid value if required."""
    if form_field.key in ANSWERS:
        return ANSWERS[form_field.key]
    if form_field.key.startswith("rating_"):
        return RATING
    if not form_field.required:
        return None
    if form_field.type in ("textfield", "textarea"):
        return "已处理" * max(1, -(-(form_field.min_length or 0) // 3))
    if form_field.type == "number":
        return str(form_field.min if form_field.min is not None else 1)
    if form_field.type in ("select", "radio"):
        return form_field.option_values[0] if form_field.option_values else None
    if form_field.type == "checklist":
        return [form_field.option_values[0]]
    if form_field.type == "checkbox":
        return True
    if form_field.type == "datetime":
        # Now, in the company's timezone: plausibility refuses a time before the call or in the future.
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        today, at = now.date().isoformat(), now.strftime("%H:%M")
        return {"date": today, "time": at}.get(form_field.subtype or "", f"{today}T{at}")
    raise AssertionError(f"the walk does not know how to fill {form_field.type} field {form_field.key}")


def answers_of(form: FormDefinition) -> dict[str, Any]:
    """The walk's answers to a whole form, as a submission (for steps done through the engine)."""
    values = {
        f.key: signed_by(str(answer(f))) if f.type == "signature" else answer(f)
        for f in form.data_fields
        if f.accepts_input
    }
    return {key: value for key, value in values.items() if value is not None}


def fill(page: Any, form: FormDefinition, leave_out: str | None = None) -> None:
    """Fill a rendered form like a user would, from the form file's fields."""
    for form_field in form.data_fields:
        value = answer(form_field)
        if value is None or form_field.key == leave_out or not form_field.accepts_input:
            continue
        key = form_field.key
        if form_field.type == "radio":
            page.check(f"input[name={key}][value='{value}']")
        elif form_field.type == "checklist":
            for item in value:
                page.check(f"input[name='{key}[]'][value='{item}']")
        elif form_field.type == "checkbox":
            (page.check if value else page.uncheck)(f"#field-{key}")
        elif form_field.type == "select":
            page.select_option(f"#field-{key}", str(value))
        elif form_field.type == "signature":
            draw_signature(page, key, str(value))
        else:
            page.fill(f"#field-{key}", str(value))


def form_of(served: Served, task_id: str) -> FormDefinition:
    """The form of a task, from the deployed version's form file."""
    with served.engine.sessions() as session:
        task = session.get(Task, task_id)
        assert task is not None and task.form_key, task_id
        return served.engine.form_of(task.instance.definition, task.form_key)


def open_tasks(served: Served, number: str) -> list[Task]:
    with served.engine.sessions() as session:
        return list(
            session.scalars(
                select(Task)
                .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
                .where(ProcessInstance.business_number == number, Task.state == "open")
            )
        )


def case_status(served: Served, number: str) -> str:
    with served.engine.sessions() as session:
        return str(
            session.scalar(select(ProcessInstance.status).where(ProcessInstance.business_number == number))
        )


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


# --- the walk ------------------------------------------------------------------------------------


def test_a_repair_case_walked_through_five_inboxes(browser: Any, served: Served) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    url = served.url
    cs1, cs2, sup1, sup2 = (new_page(browser, url) for _ in range(4))
    tech1, tech2 = new_page(browser, url, TABLET), new_page(browser, url)
    pages = {"cs1": cs1, "cs2": cs2, "sup1": sup1, "sup2": sup2, "tech1": tech1}
    users = (("cs1", cs1), ("cs2", cs2), ("sup1", sup1), ("sup2", sup2), ("tech1", tech1), ("tech2", tech2))
    for name, page in users:
        log_in(page, name)
        expect(page.locator("h1")).to_have_text("待办")

    # --- cs1 registers the repair from the start form ---------------------------------------------
    cs1.click("text=发起案件")
    cs1.click("a:has-text('维修服务')")
    with served.engine.sessions() as session:
        definition = served.engine.latest_definition(session, "repair_service")
    start_form = served.engine.form_of(definition, definition.meta["process"]["start_form"])
    fill(cs1, start_form)
    cs1.click("#start")
    flash = cs1.locator("p.flash.ok")
    expect(flash).to_contain_text("已创建案件 RO-")
    match = re.search(r"RO-\d{8}-\d{4}", flash.inner_text())
    assert match, flash.inner_text()
    number = match.group(0)

    # sup1 keeps its inbox open; it learns about 派工 by polling, without reloading.
    sup1.goto("/?tab=offered")
    expect(sup1.locator("#new-tasks")).to_have_count(0)

    walked: list[tuple[str, str]] = []
    for _round in range(12):
        waiting = open_tasks(served, number)
        if not waiting:
            break
        assert len(waiting) == 1, (
            f"the happy path has one open task at a time: {[t.spec_id for t in waiting]}"
        )
        task = waiting[0]
        user = task.assignee or USER_OF_STEP.get(task.spec_id) or USER_OF_ROLE.get(task.role or "", "")
        assert user in pages, f"{task.spec_id} is for role {task.role}: no user of the walk holds it"
        page = pages[user]
        tab = "mine" if task.assignee else "offered"

        if task.spec_id == "task_dispatch":
            # The poll tells sup1 a task arrived; following it shows the row.
            expect(sup1.locator("#new-tasks")).to_contain_text("有 1 项新任务")
            sup1.click("#new-tasks")
            # tech2, a technician, may not open the supervisor's task.
            response = tech2.goto(f"/tasks/{task.id}")
            assert response is not None and response.status == 403
            expect(tech2.locator("main")).to_contain_text("您无权访问此页面。")
            assert CUSTOMER not in tech2.content() and "Traceback" not in tech2.content()
        else:
            page.goto(f"/?tab={tab}")

        # The task is in the user's own inbox, in the right tab.
        row = page.locator(f"#{tab} tbody tr[data-task-id='{task.id}']")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(number)
        expect(row).to_contain_text(CUSTOMER)
        expect(row).to_contain_text("一般")
        if page is tech1:
            assert no_sideways_scroll(tech1), "the tablet inbox scrolls sideways"
            # tech2 sees nothing of tech1's work.
            for other_tab in ("mine", "offered"):
                tech2.goto(f"/?tab={other_tab}")
                expect(tech2.locator(f"tr[data-task-id='{task.id}']")).to_have_count(0)

        row.locator("td.step a").click()
        expect(page.locator("h1")).to_have_text(task.name)
        form = form_of(served, task.id)

        if task.spec_id == "task_remote_guidance":
            cs2.goto(f"/tasks/{task.id}")  # a colleague has the same task open
            expect(cs2.locator("#task-form")).to_have_count(1)
            fill(cs2, form)
            # A required field left empty: the error is next to the field and the input is kept.
            missing = next(f for f in form.data_fields if f.required)
            fill(cs1, form, leave_out=missing.key)
            cs1.click("#complete")
            error = cs1.locator(f"#field-{missing.key}-error")
            expect(error).to_be_visible()
            expect(error).to_contain_text("此项为必填项")
            expect(cs1.locator(f".field.has-error[data-field={missing.key}]")).to_have_count(1)
            expect(cs1.locator("#field-guidance_notes")).to_have_value(ANSWERS["guidance_notes"])
            field_box = cs1.locator(f"#field-{missing.key}").bounding_box()
            error_box = error.bounding_box()
            assert (
                field_box and error_box and 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
            )

        fill(page, form)
        if page is tech1:
            assert no_sideways_scroll(tech1), "the tablet task page scrolls sideways"
        page.click("#complete")
        expect(page.locator("p.flash.ok")).to_contain_text(number)
        walked.append((task.spec_id, user))

        if task.spec_id == "task_remote_guidance":
            # cs2 submits the form it had open: it is told who did the task, nothing changes.
            cs2.click("#complete")
            expect(cs2.locator("p.flash.error")).to_contain_text("此任务已由 cs1 完成。")
            expect(cs2.locator("#task-form")).to_have_count(0)

    assert case_status(served, number) == "completed", f"the case did not close; walked {walked}"
    steps = iter(walked)
    missing_steps = [step for step in PATH if step not in steps]
    assert not missing_steps, f"the walk {walked} lacks {missing_steps} (in this order: {PATH})"
    cs1.goto("/?tab=done")
    expect(cs1.locator("#done tbody tr").filter(has_text=number)).to_have_count(1)  # 电话指导
    cs2.goto("/?tab=done")
    expect(cs2.locator("#done tbody tr").filter(has_text=number)).to_have_count(1)  # 回访

    # --- the language switch turns the pages English -------------------------------------------
    sup1.goto("/?tab=done")
    sup1.click("#lang-switch")
    expect(sup1.locator("h1")).to_have_text("Inbox")
    expect(sup1.locator("html")).to_have_attribute("lang", "en")
    expect(sup1.locator("#tab-done")).to_contain_text("Done by me")
    expect(sup1.locator("#done thead")).to_contain_text("Completed")
    sup1.locator("#done tbody tr").filter(has_text=number).first.locator("td.step a").click()
    expect(sup1.locator("#summary-heading")).to_have_text("Case summary")
    expect(sup1.locator("#case-status")).to_have_text("closed")
    expect(sup1.locator("#history-heading")).to_have_text("History")
    cs1.goto("/")
    expect(cs1.locator("h1")).to_have_text("待办")  # each user keeps its own language

    # --- filters swap the table in place (htmx), and the URL follows ---------------------------
    start_more_cases(served)
    cs1.goto("/?tab=offered")
    expect(cs1.locator("#offered tbody tr")).to_have_count(4)
    cs1.evaluate("window.afterflowStay = 'the same page'")
    cs1.fill("#filter-q", "北方")
    expect(cs1.locator("#offered tbody tr")).to_have_count(1)
    expect(cs1.locator("#offered tbody tr")).to_contain_text("北方重工集团")
    assert cs1.evaluate("window.afterflowStay") == "the same page", "the filter reloaded the page"
    expect(cs1).to_have_url(re.compile(r"q=%E5%8C%97%E6%96%B9"))
    cs1.fill("#filter-q", "")
    cs1.select_option("#filter-urgency", "emergency")
    expect(cs1.locator("#offered tbody tr")).to_have_count(1)
    expect(cs1.locator("#offered tbody tr")).to_contain_text("紧急")
    cs1.click("#clear-filters")
    expect(cs1.locator("#offered tbody tr")).to_have_count(4)

    take_screenshots(served, cs1, sup1, tech1)


def advance(served: Served, number: str, until: str) -> str:
    """Move a case through the engine, answering each form like the walk does, up to task ``until``."""
    actors = {
        "customer_service": Actor("cs1", frozenset({"customer_service"})),
        "service_supervisor": Actor("sup1", frozenset({"service_supervisor"})),
        "technician": Actor("tech1", frozenset({"technician"})),
    }
    for _round in range(12):
        (task,) = open_tasks(served, number)
        if task.spec_id == until:
            return task.id
        served.engine.complete(task.id, answers_of(form_of(served, task.id)), actors[task.role or ""])
    raise AssertionError(f"{number} never reached {until}")


def start_more_cases(served: Served) -> list[str]:
    """Start four more repair cases through the engine (different customers and urgencies)."""
    starter = Actor("cs1", frozenset({"customer_service"}))
    with served.engine.sessions() as session:
        definition = served.engine.latest_definition(session, "repair_service")
    base = answers_of(served.engine.form_of(definition, definition.meta["process"]["start_form"]))
    cases = [
        ("华东精密机械有限公司", "emergency", "HX-200 数控机床"),
        ("北方重工集团", "normal", "LX-80 激光切割机"),
        ("南方医疗器械有限公司", "normal", "MZ-5 检测仪"),
        ("西部电子科技", "normal", "PT-300 包装线"),
    ]
    return [
        served.engine.start(
            "repair_service",
            {**base, "customer_name": name, "urgency": urgency, "product_model": product},
            starter,
        ).business_number
        for name, urgency, product in cases
    ]


def take_screenshots(served: Served, cs1: Any, sup1: Any, tech1: Any) -> None:
    """The inbox and a task page in both languages, for the README (AFTERFLOW_SCREENSHOTS=1)."""
    if os.environ.get("AFTERFLOW_SCREENSHOTS") != "1":
        return
    (first, *_others) = open_numbers(served, "task_remote_guidance")
    acceptance = advance(served, first, "task_acceptance")
    sup1.goto(f"/tasks/{acceptance}")
    sup1.fill("#comment-body", "The customer confirmed the spindle runs quietly again.")
    sup1.click("#add-comment")

    cs1.goto("/?tab=offered")
    shot(cs1, "inbox-zh.png")
    sup1.goto(f"/tasks/{acceptance}")
    sup1.wait_for_selector("#diagram[data-ready]")
    shot(sup1, "task-en.png")
    sup1.click("#lang-switch")
    sup1.wait_for_selector("#diagram[data-ready]")
    shot(sup1, "task-zh.png")
    cs1.click("#lang-switch")
    shot(cs1, "inbox-en.png")
    tech1.goto("/?tab=done")
    shot(tech1, "inbox-tablet-zh.png")


def open_numbers(served: Served, spec_id: str) -> list[str]:
    """The business numbers of the cases waiting at ``spec_id``, oldest first."""
    with served.engine.sessions() as session:
        return list(
            session.scalars(
                select(ProcessInstance.business_number)
                .join(Task, Task.instance_id == ProcessInstance.id)
                .where(Task.spec_id == spec_id, Task.state == "open")
                .order_by(ProcessInstance.id)
            )
        )
