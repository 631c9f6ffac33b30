"""The process owner edits and deploys in a real browser (Debian's chromium via Playwright).

1. owner1 opens the repair diagram, adds a user task (placed in a lane and connected) and
   names it through the side panel, deploys version 2: a case started before stays on
   version 1 and completes there, a new case runs version 2; an edit that leaves a flow
   dangling shows the problem on the element and deploys nothing.
2. owner1 edits the SLA decision table (dmn-js) and a form field's label (form-js), deploys,
   and the next case shows both: its due time and the label.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine.accounts.users import Actor, create_user
from engine.runtime import Engine
from engine.store.models import ProcessDefinition, ProcessInstance, Task
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page
from tests.scenarios.test_repair import SATISFIED
from tests.web.conftest import REPAIR_REQUEST

pytestmark = pytest.mark.e2e

CS = Actor("cs1", frozenset({"customer_service"}))

ADD_TASK = """
() => {
  const m = window.afterflowModeler.bpmn;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling');
  const participant = registry.get('participant_repair_service');
  const lane = registry.get('lane_customer_service');
  const flow = registry.get('flow_solved_yes');
  const merge = registry.get('gateway_follow_up_merge');
  const shape = modeling.createShape({ type: 'bpmn:UserTask' }, { x: 1350, y: lane.y + lane.height - 50 }, participant);
  modeling.updateProperties(shape, { id: 'task_phone_confirm' });
  modeling.reconnectEnd(flow, shape, { x: shape.x, y: shape.y + shape.height / 2 });
  modeling.connect(shape, merge, { type: 'bpmn:SequenceFlow' });
  m.get('selection').select(shape);
  return shape.id;
}
"""


@pytest.fixture(scope="module")
def owner(served: Served) -> Served:
    with served.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "蒋流程")
    return served


def open_editor(browser: Any, base_url: str) -> Any:
    page = new_page(browser, base_url)
    log_in(page, "owner1", "/modeler/")
    page.click("tr[data-process=repair_service] a.edit")
    page.wait_for_selector("#modeler-app[data-ready=true]")
    return page


def open_step(engine: Engine, number: str) -> Task:
    with engine.sessions() as session:
        (task,) = session.scalars(
            select(Task)
            .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
            .where(ProcessInstance.business_number == number, Task.state == "open")
        )
        return task


def instance(engine: Engine, number: str) -> ProcessInstance:
    with engine.sessions() as session:
        found = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == number))
        assert found is not None
        return found


def versions(engine: Engine) -> list[ProcessDefinition]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(ProcessDefinition)
                .options(undefer(ProcessDefinition.files))  # the source is deferred: ask for it
                .where(ProcessDefinition.process_key == "repair_service")
                .order_by(ProcessDefinition.version)
            )
        )


def test_owner_adds_a_step_deploys_v2_and_cases_in_flight_stay_on_v1(browser: Any, owner: Served) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    engine = owner.engine
    before = engine.start("repair_service", REPAIR_REQUEST, CS).business_number
    start_version = versions(engine)[-1].version

    page = open_editor(browser, owner.url)
    expect(page.locator("button[data-file='repair_service.bpmn']")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(ADD_TASK) == "task_phone_confirm"
    # The side panel names it, shows its lane and gives it a due time.
    expect(page.locator("#panel-id")).to_have_value("task_phone_confirm")
    expect(page.locator("#panel-lane")).to_have_value("客服专员")
    page.fill("#panel-name", "电话解决确认")
    page.locator("#panel-name").dispatch_event("change")
    page.fill("#panel-dueTime", "hours(4)")
    page.locator("#panel-dueTime").dispatch_event("change")
    page.fill("#panel-title_en", "'Confirm the fix with ' + customer_name")  # a computed title in English
    page.locator("#panel-title_en").dispatch_event("change")

    page.click("#validate")
    expect(page.locator("#modeler-app")).to_have_attribute("data-validated", "ok")
    expect(page.locator("#problems li")).to_have_count(0)
    page.fill("#change-summary", "电话解决后增加确认")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    expect(page.locator("#modeler-status")).to_contain_text(f"repair_service v{start_version + 1}")

    newest = versions(engine)[-1]
    assert (newest.version, newest.deployed_by, newest.change_summary) == (
        start_version + 1,
        "owner1",
        "电话解决后增加确认",
    )
    assert newest.meta["lanes"]["task_phone_confirm"] == "customer_service"
    assert newest.meta["tasks"]["task_phone_confirm"]["due"] == "hours(4)" or "hours(4)" in str(
        newest.meta["tasks"]["task_phone_confirm"]
    )
    assert newest.meta["tasks"]["task_phone_confirm"]["titles"] == {
        "en": "'Confirm the fix with ' + customer_name"
    }
    bpmn = newest.files["repair_service.bpmn"]
    # What the panel does not show survives the round trip through the modeler.
    assert '<spiffworkflow:parameter id="serial_number"' in bpmn
    assert "spiffworkflow:calledDecisionId" in bpmn and "spiffworkflow:preScript" in bpmn

    # The case started before stays on version 1 and completes there (no confirmation step).
    engine.complete(open_step(engine, before).id, {"solved_by_phone": "yes", "guidance_notes": "复位"}, CS)
    assert open_step(engine, before).spec_id == "task_follow_up"
    engine.complete(open_step(engine, before).id, SATISFIED, CS)
    finished = instance(engine, before)
    assert (finished.status, finished.definition.version) == ("completed", start_version)

    # A new case runs version 2: the new step comes after a fault solved by phone.
    after = engine.start("repair_service", REPAIR_REQUEST, CS).business_number
    assert instance(engine, after).definition.version == start_version + 1
    engine.complete(open_step(engine, after).id, {"solved_by_phone": "yes", "guidance_notes": "复位"}, CS)
    step = open_step(engine, after)
    assert (step.spec_id, step.name, step.role) == ("task_phone_confirm", "电话解决确认", "customer_service")

    # An edit that leaves a flow dangling: the problem is listed and marked on the element.
    page.evaluate(
        """() => {
          const m = window.afterflowModeler.bpmn;
          const registry = m.get('elementRegistry');
          const out = registry.get('task_phone_confirm').outgoing[0];
          m.get('modeling').removeConnection(out);
        }"""
    )
    page.click("#validate")
    expect(page.locator("#modeler-app")).to_have_attribute("data-validated", "problems")
    expect(page.locator("#problems li[data-element=task_phone_confirm]")).to_contain_text("no outgoing flow")
    assert page.evaluate(
        "() => window.afterflowModeler.bpmn.get('canvas').hasMarker('task_phone_confirm', 'af-problem')"
    )
    badge = page.locator(".djs-overlay .af-badge-error[data-element=task_phone_confirm]")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    assert "no outgoing flow" in (badge.get_attribute("title") or "")
    badge.click()
    expect(page.locator("#problems li.selected[data-element=task_phone_confirm]")).to_be_visible()
    page.fill("#change-summary", "坏的修改")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "refused")
    assert versions(engine)[-1].version == start_version + 1
    # The refused edit stays as the owner's draft (kept by autosave) until discarded.
    page.click("#discard-draft")
    expect(page.locator("#modeler-app")).to_have_attribute("data-dirty", "false")
    page.close()


def test_owner_edits_the_sla_table_and_a_form_label_and_the_next_case_shows_both(
    browser: Any, owner: Served
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    engine = owner.engine
    page = open_editor(browser, owner.url)
    start_version = versions(engine)[-1].version

    # dmn-js: the response limit of a normal repair request, 4 → 8 working hours.
    page.click("button[data-file='sla_policy.dmn']")
    cell = page.locator("td[data-element-id=rule_repair_response_default_amount]")
    expect(cell).to_contain_text("4")
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("8")
    expect(cell).to_contain_text("8")

    # form-js: the label of 电话指导's notes field.
    page.click("button[data-file='repair_remote_guidance.form.json']")
    page.wait_for_function("() => window.afterflowModeler.form() !== null")
    page.evaluate(
        """() => {
          const editor = window.afterflowModeler.form();
          const field = editor.get('formFieldRegistry').getAll().find(f => f.key === 'guidance_notes');
          editor.get('modeling').editFormField(field, 'label', '处理记录（新）');
        }"""
    )
    expect(page.locator("#form-container")).to_contain_text("处理记录（新）")

    page.fill("#change-summary", "响应时限 8 工作小时；字段改名")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    newest = versions(engine)[-1]
    assert newest.version == start_version + 1
    assert '<outputEntry id="rule_repair_response_default_amount"><text>8</text>' in newest.files[
        "sla_policy.dmn"
    ].replace("\n", "").replace("  ", "")
    # dmn-js keeps the table's hit policy: overlapping rows, the first match wins.
    assert 'hitPolicy="FIRST"' in newest.files["sla_policy.dmn"]

    started = engine.start("repair_service", REPAIR_REQUEST, CS).business_number
    expected = datetime.fromisoformat(
        str(engine.script_engine.environment.evaluate("due_in(8, 'working_hours')", {}))
    )
    guidance = open_step(engine, started)
    assert guidance.spec_id == "task_remote_guidance" and guidance.due_at is not None
    assert abs(guidance.due_at - expected) < timedelta(minutes=2)

    cs1 = new_page(browser, owner.url)
    log_in(cs1, "cs1", f"/tasks/{guidance.id}")
    expect(cs1.locator(".field[data-field=guidance_notes]")).to_contain_text("处理记录（新）")


def test_the_editor_is_not_for_other_users(browser: Any, owner: Served) -> None:
    page = new_page(browser, owner.url)
    log_in(page, "cs1", "/")
    assert page.locator("#nav-modeler").count() == 0
    response = page.goto("/modeler/repair_service/edit")
    assert response is not None and response.status == 403


#: A script renaming the repair diagram's 派工 step in the open editor (an undoable edit).
RENAME_DISPATCH = """(name) => {
  const m = window.afterflowModeler.bpmn;
  m.get('modeling').updateProperties(m.get('elementRegistry').get('task_dispatch'), { name: name });
}"""


def test_undo_redo_autosave_and_a_warning_before_leaving_with_unsaved_edits(
    browser: Any, owner: Served
) -> None:
    page = open_editor(browser, owner.url)
    from playwright.sync_api import expect

    name_of = (
        "() => window.afterflowModeler.bpmn.get('elementRegistry').get('task_dispatch').businessObject.name"
    )
    original = page.evaluate(name_of)
    # Read in the same script as the edit: an autosave may clean the page any moment after it.
    dirty = page.evaluate(
        f"(name) => {{ ({RENAME_DISPATCH})(name); return document.getElementById('modeler-app').dataset.dirty; }}",
        "派工（新）",
    )
    assert dirty == "true"
    page.click("#undo")
    assert page.evaluate(name_of) == original
    page.click("#redo")
    assert page.evaluate(name_of) == "派工（新）"

    # Unsaved edits: leaving asks first (the browser's own beforeunload dialog). The edit and the
    # leaving run in one script, so no autosave comes between them.
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.evaluate(
        f"(name) => {{ ({RENAME_DISPATCH})(name); window.location.href = '/modeler/'; }}", "派工（改）"
    )
    for _ in range(50):  # the dialog comes through the browser's protocol: up to 5 s
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert dialogs == ["beforeunload"]

    # Autosave keeps the edit as the owner's draft and the page is clean again.
    expect(page.locator("#modeler-app")).to_have_attribute("data-dirty", "false", timeout=TIMEOUT_MS)
    assert "派工（改）" in saved_draft(page)
    discard_draft(page)
    page.close()


def test_an_edit_made_while_the_draft_is_on_its_way_is_saved_too(browser: Any, owner: Served) -> None:
    page = open_editor(browser, owner.url)
    from playwright.sync_api import expect

    page.evaluate(RENAME_DISPATCH, "派工（一）")
    # "Save draft" sends the diagram as it stands; the edit right after it is not in that request.
    # The page stays dirty for it, and the next autosave keeps it.
    page.evaluate(
        f"(name) => {{ document.getElementById('save-draft').click(); ({RENAME_DISPATCH})(name); }}",
        "派工（二）",
    )
    expect(page.locator("#modeler-app")).to_have_attribute("data-dirty", "false", timeout=TIMEOUT_MS)
    assert "派工（二）" in saved_draft(page)
    discard_draft(page)
    page.close()


def saved_draft(page: Any) -> str:
    files = page.evaluate(
        "() => fetch('/modeler/api/repair_service/files', {credentials: 'same-origin'}).then(r => r.json())"
    )
    assert files["source"] == "draft"
    return str(files["files"]["repair_service.bpmn"])


def discard_draft(page: Any) -> None:
    page.evaluate(
        """() => fetch('/modeler/api/repair_service/draft', {method: 'DELETE', credentials: 'same-origin',
             headers: {'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content}})"""
    )


def test_a_new_decision_table_opens_in_the_dmn_editor_and_is_kept_in_the_draft(
    browser: Any, owner: Served
) -> None:
    page = open_editor(browser, owner.url)
    from playwright.sync_api import expect

    page.once("dialog", lambda dialog: dialog.accept("visit_fee"))
    page.click("#new-decision")
    expect(page.locator("#modeler-app")).to_have_attribute("data-open", "visit_fee.dmn", timeout=TIMEOUT_MS)
    expect(page.locator("#dmn-container")).to_be_visible()
    expect(page.locator("#dmn-container .tjs-table")).to_be_visible(timeout=TIMEOUT_MS)
    assert page.locator("#file-tabs button", has_text="visit_fee.dmn").count() == 1
    files = page.evaluate(
        "() => fetch('/modeler/api/repair_service/files', {credentials: 'same-origin'}).then(r => r.json())"
    )
    assert files["source"] == "draft" and 'hitPolicy="FIRST"' in files["files"]["visit_fee.dmn"]
    page.once("dialog", lambda dialog: dialog.accept("visit_fee"))  # taken now: refused, said why
    page.click("#new-decision")
    expect(page.locator("#modeler-status")).to_contain_text("visit_fee", timeout=TIMEOUT_MS)
    expect(page.locator("#modeler-status")).to_contain_text("已被另一个决策表或表单使用")
    page.evaluate(
        """() => fetch('/modeler/api/repair_service/draft', {method: 'DELETE', credentials: 'same-origin',
             headers: {'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content}})"""
    )
    page.close()
