"""A diagram that carries script payloads in its names and documentation runs none of them.

A process owner (or anyone who can deploy) puts markup into element names, the process name
and documentation — the CDATA payload that used to end the inline script element, and other
classic variants. A manager then opens the case, the process version, the inbox task page and
the modeler: no dialog opens, the browser logs no error (an injected ``<img onerror>`` would log
the failed image or the blocked inline handler), every page carries the Content-Security-Policy,
and the diagrams are still drawn with their markers.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.definitions import collect_files
from engine.models import ProcessDefinition, Task
from engine.users import Actor, create_user
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import ROOT, TIMEOUT_MS, Served, log_in, new_page

pytestmark = pytest.mark.e2e
CS = Actor("cs1", frozenset({"customer_service"}))
CDATA_PAYLOAD = "<![CDATA[</SCRIPT><img src=x onerror=alert(1)>]]>"
#: Payloads for names (XML attributes, escaped there) and documentation (element text).
NAME_PAYLOADS = (
    "</SCRIPT><img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "'><img src=x onerror=alert(4)>",
    "</ScRiPt ><iframe srcdoc='<script>alert(5)</script>'>",
    "<!--<script>alert(6)//-->",
    "{{ 7*7 }}<a href=javascript:alert(7)>x</a>",
)
#: What the libraries log as errors on every load: dmn-js bundles Inferno's development build, and
#: its modeler warns about the editor's keyboard option. Neither is about scripts or the policy.
BENIGN_CONSOLE_ERRORS = (
    "It looks like you're using a minified copy of the development build of Inferno",
    "unsupported configuration <keyboard.bindTo>",
)
REQUEST = {
    "channel": "phone",
    "customer_name": "</SCRIPT><img src=x onerror=alert(8)>",
    "customer_phone": "021-5555-0101",
    "customer_address": "上海市浦东新区张江路 88 号",
    "product_model": '"><svg onload=alert(9)>',
    "serial_number": "SN-XSS",
    "fault_description": "<![CDATA[</SCRIPT><img src=x onerror=alert(10)>]]>",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": True,
    "cause": "normal",
}


def attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def poisoned_repair_diagram() -> dict[str, str]:
    """The repair process with payloads in the process name, task names and documentation."""
    files, problems = collect_files([ROOT / "diagrams"])
    assert not problems
    name = next(n for n in files if n.endswith("repair_service.bpmn"))
    xml = files[name]
    xml = xml.replace('name="维修服务"', f'name="维修服务 {attribute(NAME_PAYLOADS[0])}"', 1)
    xml = xml.replace('name="电话指导"', f'name="电话指导 {attribute(NAME_PAYLOADS[1])}"', 1)
    xml = xml.replace('name="派工"', f'name="派工 {attribute(NAME_PAYLOADS[2])}"', 1)
    documentation = CDATA_PAYLOAD + "".join(attribute(p) for p in NAME_PAYLOADS)
    xml = xml.replace(
        "<bpmn:documentation>先电话指导",
        f"<bpmn:documentation>{CDATA_PAYLOAD}{attribute(NAME_PAYLOADS[3])}先电话指导",
        1,
    )
    # Documentation of the process itself, as the first child of <bpmn:process>.
    xml = xml.replace(
        'isExecutable="true">',
        f'isExecutable="true">\n    <bpmn:documentation>{documentation}</bpmn:documentation>',
        1,
    )
    assert xml.count(CDATA_PAYLOAD) == 2
    return {**files, name: xml}


@pytest.fixture(scope="module")
def poisoned(served: Served) -> dict[str, Any]:
    engine = served.engine
    report = engine.deploy(poisoned_repair_diagram(), deployed_by="owner1", change_summary=NAME_PAYLOADS[4])
    assert not report.problems, report.problems
    with engine.writer.begin() as session:
        create_user(session, "owner9", "e2e-密码-owner9", ("process_owner",), ROLE_KEYS, NAME_PAYLOADS[5])
    case = engine.start("repair_service", REQUEST, CS).id
    with engine.sessions() as session:
        definition_id = session.scalar(
            select(ProcessDefinition.id)
            .where(ProcessDefinition.process_key == "repair_service")
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        task_id = session.scalar(select(Task.id).where(Task.instance_id == case, Task.state == "open"))
    return {"case": case, "definition": definition_id, "task": task_id}


class Watcher:
    """Records every dialog, page error, console error and missing CSP header of a page."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.without_csp: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(BENIGN_CONSOLE_ERRORS):
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def _response(self, response: Any) -> None:
        if response.request.resource_type == "document" and not response.headers.get(
            "content-security-policy"
        ):
            self.without_csp.append(response.url)


def test_a_poisoned_diagram_runs_no_script_on_any_page(
    browser: Any, base_url: str, poisoned: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = new_page(browser, base_url)
    watcher = Watcher(page)
    log_in(page, "sup1", then=f"/manage/cases/{poisoned['case']}")
    expect(page.locator("#case-diagram[data-ready=true]")).to_have_count(1)
    expect(
        page.locator('#case-diagram svg .djs-element.case-active[data-element-id="task_remote_guidance"]')
    ).to_have_count(1)
    # The payload is shown as the text it is, in the diagram and on the page.
    expect(page.locator('#case-diagram [data-element-id="task_remote_guidance"]')).to_contain_text("alert(2)")
    expect(page.locator("main")).to_contain_text("</SCRIPT><img src=x onerror=alert(8)>")

    page.goto(f"/manage/processes/{poisoned['definition']}")
    expect(page.locator("#case-diagram[data-ready=true] .step-counts").first).to_be_visible()
    page.goto("/manage/cases")
    expect(page.locator("#cases tbody tr").first).to_be_visible()
    page.goto("/manage/kpis")
    expect(page.locator("#kpi-trend[data-ready=true] svg")).to_have_count(1)

    cs = new_page(browser, base_url)
    cs_watcher = Watcher(cs)
    log_in(cs, "cs1", then=f"/tasks/{poisoned['task']}")
    expect(cs.locator("#diagram svg").first).to_be_visible()
    cs.goto("/")
    expect(cs.locator("#offered")).to_contain_text("alert(2)")

    owner = new_page(browser, base_url)
    owner_watcher = Watcher(owner)
    owner.goto("/modeler/")
    owner.fill("input[name=username]", "owner9")
    owner.fill("input[name=password]", "e2e-密码-owner9")
    owner.click("#login-form button[type=submit]")
    owner.wait_for_load_state()
    expect(owner.locator("header")).to_contain_text("alert(6)")
    owner.goto("/modeler/repair_service/edit")
    expect(owner.locator("#bpmn-canvas svg .djs-element").first).to_be_attached()
    expect(owner.locator('#bpmn-canvas [data-element-id="task_remote_guidance"]')).to_contain_text("alert(2)")
    # The decision-table and form editors run under the policy too.
    owner.click("button[data-file='sla_policy.dmn']")
    expect(owner.locator("#dmn-container .tjs-table").first).to_be_visible()
    owner.click("button[data-file='repair_remote_guidance.form.json']")
    owner.wait_for_function("() => window.afterflowModeler.form() !== null")
    expect(owner.locator("#form-container .fjs-form-field").first).to_be_attached()
    owner.goto("/modeler/repair_service/compare")
    owner.wait_for_load_state("networkidle")

    for seen in (watcher, cs_watcher, owner_watcher):
        assert seen.dialogs == []
        assert seen.errors == []
        assert seen.without_csp == []
