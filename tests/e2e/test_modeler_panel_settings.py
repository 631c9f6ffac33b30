"""The side panel's service, message and multi-instance settings, and two owners' drafts, in a real browser.

1. owner1 edits a service task's parameters, a thrown message's payload and makes a task
   multi-instance through the side panel; wrong values are shown under the field and not
   written; the deploy then reads what the panel wrote. A loop's collection (a variable name
   bpmn-js cannot resolve as an element) survives opening and saving another diagram.
2. owner1 and owner2 edit the same process: each keeps their own draft, owner2 sees that
   蒋流程 is editing and when they saved, and owner1's deploy over owner2's newer version asks first.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.accounts.users import create_user
from engine.store.models import ProcessDefinition
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page

pytestmark = pytest.mark.e2e

SELECT = "(id) => { const m = window.afterflowModeler.bpmn; m.get('selection').select(m.get('elementRegistry').get(id)); }"
XML = "() => window.afterflowModeler.sync().then(() => window.afterflowModeler.state.files[{name!r}])"


@pytest.fixture(scope="module")
def owners(served: Served) -> Served:
    with served.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "蒋流程")
        create_user(session, "owner2", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "王工")
    return served


def open_editor(browser: Any, base_url: str, user: str, key: str = "repair_service") -> Any:
    page = new_page(browser, base_url)
    log_in(page, user, f"/modeler/{key}/edit")
    page.wait_for_selector("#modeler-app[data-ready=true]")
    return page


def set_field(page: Any, key: str, value: str) -> None:
    field = page.locator(f"#panel-{key}")
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
        field.dispatch_event("change")


def newest(owners: Served, key: str = "repair_service") -> ProcessDefinition:
    with owners.engine.sessions() as db:
        found = db.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.process_key == key)
            .order_by(ProcessDefinition.version.desc())
        ).first()
        assert found is not None
        return found


def test_the_panel_writes_service_message_and_loop_settings_a_deploy_reads(
    browser: Any, owners: Served
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = open_editor(browser, owners.url, "owner1")

    # The service task: its service, result variable and parameters, one a line.
    page.evaluate(SELECT, "service_product_lookup")
    expect(page.locator("#panel-service")).to_have_value("product_lookup")
    expect(page.locator("#panel-resultVariable")).to_have_value("product")
    expect(page.locator("#panel-parameters")).to_have_value("serial_number = serial_number or ''")
    set_field(page, "parameters", "serial_number (serial_number or '').strip()")
    expect(page.locator("#panel-parameters-problem")).to_contain_text("不是“名称 = 表达式”的格式")
    assert ".strip()" not in page.evaluate(XML.format(name="repair_service.bpmn"))
    set_field(page, "parameters", "serial_number = (serial_number or '').strip()")
    expect(page.locator("#panel-parameters-problem")).to_have_text("")

    # The thrown complaint message: its name and what it carries.
    page.evaluate(SELECT, "throw_complaint")
    expect(page.locator("#panel-message")).to_have_value("repair_complaint")
    assert '"source": "repair_follow_up"' in page.locator("#panel-payload").input_value()
    payload = page.locator("#panel-payload").input_value().replace('"repair_follow_up"', '"follow_up_call"')
    set_field(page, "payload", payload)

    # The follow-up becomes a parallel multi-instance task; over the cap is refused in place.
    page.evaluate(SELECT, "task_follow_up")
    expect(page.locator("#panel-loop")).to_have_value("")
    set_field(page, "loop", "parallel")
    set_field(page, "cardinality", "5000")
    expect(page.locator("#panel-cardinality-problem")).to_contain_text(
        "5000 超过了多实例活动最多可创建的 1000 个实例"
    )
    assert "loopCardinality" not in page.evaluate(XML.format(name="repair_service.bpmn"))
    set_field(page, "cardinality", "2")
    set_field(page, "collection", "visits")
    expect(page.locator("#panel-collection-problem")).to_contain_text("二者只能选一")

    xml = page.evaluate(XML.format(name="repair_service.bpmn"))
    assert 'type="str" value="(serial_number or &#39;&#39;).strip()"' in xml  # the type it had is kept
    page.fill("#change-summary", "回访两次")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")

    spec = owners.engine.definitions.specs(newest(owners)).spec
    lookup = spec.task_specs["service_product_lookup"]
    assert lookup.operation_name == "product_lookup"
    assert lookup.operation_params["serial_number"]["value"] == "(serial_number or '').strip()"
    follow_up = spec.task_specs["task_follow_up"]
    assert follow_up.cardinality == "2" and follow_up.data_input is None
    assert '"source": "follow_up_call"' in spec.task_specs["throw_complaint"].event_definition.expression
    page.close()

    # A loop over a collection keeps its collection through the editor.
    recall = open_editor(browser, owners.url, "owner1", "recall")
    recall.evaluate(SELECT, "task_notify")
    expect(recall.locator("#panel-loop")).to_have_value("parallel")
    expect(recall.locator("#panel-collection")).to_have_value("customers")
    expect(recall.locator("#panel-elementVariable")).to_have_value("customer")
    set_field(recall, "elementVariable", "1customer")
    expect(recall.locator("#panel-elementVariable-problem")).to_contain_text("不是变量名")
    recall_xml = recall.evaluate(XML.format(name="recall.bpmn"))
    assert "<bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>" in recall_xml
    assert "<bpmn:loopDataOutputRef>notifications</bpmn:loopDataOutputRef>" in recall_xml
    assert 'name="customer"' in recall_xml and "1customer" not in recall_xml
    recall.close()


def test_two_owners_keep_their_own_drafts_see_each_other_and_deploy_with_a_warning(
    browser: Any, owners: Served
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    first = open_editor(browser, owners.url, "owner1")
    second = open_editor(browser, owners.url, "owner2")
    start = newest(owners).version

    first.evaluate(SELECT, "task_dispatch")
    set_field(first, "name", "派工安排")
    first.click("#save-draft")
    expect(first.locator("#modeler-app")).to_have_attribute("data-dirty", "false")
    second.evaluate("() => window.afterflowModeler.beat()")
    expect(second.locator("#modeler-others li[data-author=owner1]")).to_have_text("蒋流程 正在编辑，刚刚保存")

    second.evaluate(SELECT, "task_dispatch")
    set_field(second, "name", "派工调度")
    second.click("#save-draft")
    expect(second.locator("#modeler-app")).to_have_attribute("data-dirty", "false")
    first.reload()
    first.wait_for_selector("#modeler-app[data-ready=true]")
    assert 'name="派工安排"' in first.evaluate(XML.format(name="repair_service.bpmn"))  # not owner2's
    expect(first.locator("#modeler-others li[data-author=owner2]")).to_contain_text("王工")

    second.fill("#change-summary", "派工调度")
    second.click("#deploy")
    expect(second.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    assert newest(owners).version == start + 1

    asked: list[str] = []
    first.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    first.fill("#change-summary", "派工安排")
    first.click("#deploy")
    expect(first.locator("#modeler-app")).to_have_attribute("data-newer", str(start + 1))
    expect(first.locator("#modeler-app")).to_have_attribute("data-deployed", "refused")
    assert asked and "王工" in asked[0] and f"版本 {start + 1}" in asked[0]
    assert newest(owners).version == start + 1  # held back
    first.once("dialog", lambda dialog: dialog.accept())
    first.click("#deploy")
    expect(first.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    assert newest(owners).version == start + 2
    assert 'name="派工安排"' in owners.engine.definitions.files(newest(owners))["repair_service.bpmn"]
    first.close()
    second.close()
