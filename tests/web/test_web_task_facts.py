"""Every task page shows the case's facts, the engine's decisions with their reasons, and its limits.

Each test walks a case through the web as the demo users would and reads the facts panel of
the task pages (``<dd data-fact="…">``, ``<dd data-decision="…">``, the SLA clock).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor, create_user
from engine.store.models import ProcessInstance, Task
from processes.demo.signatures import signed_by
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.conftest import FIVE_CUSTOMERS, Web, add_sale, archive_machine_under_contract, return_request

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLES = {username: roles for username, _name, roles in DEMO_USERS}


def today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


@pytest.fixture
def staff(web: Web) -> Web:
    """The demo users beyond the web fixture's few, for the other processes' lanes."""
    with web.engine.writer.begin() as session:
        for username in ("qa1", "bill1", "sales1", "gm1", "wh1", "bm1"):
            create_user(session, username, DEMO_PASSWORD, ROLES[username], ROLE_KEYS, username)
    return web


def fact(html: str, path: str) -> str:
    match = re.search(rf'<dd data-fact="{re.escape(path)}">(.*?)</dd>', html, re.DOTALL)
    assert match, f"no fact {path} on the page"
    return " ".join(match.group(1).split())


def decision(html: str, element: str) -> str:
    match = re.search(rf'<dd data-decision="{re.escape(element)}">(.*?)</dd>', html, re.DOTALL)
    assert match, f"no decision {element} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_a_misused_machine_under_contract_shows_category_a_and_the_contract_on_each_task(web: Web) -> None:
    archive_machine_under_contract(web.engine, "SN-ARCH-7", "WB-2026-0042")
    cs1 = web.client("cs1")
    number = web.start_repair(
        cs1, serial_number="SN-ARCH-7", cause="misuse", contract_in_force="", warranty_end=""
    )

    guidance = web.open_task(number, "task_remote_guidance")
    page = cs1.get(f"/tasks/{guidance.id}").text
    assert fact(page, "customer_phone") == "021-5555-0101"
    assert fact(page, "customer_address") == "上海市浦东新区张江路 88 号"
    assert fact(page, "fault_description") == "主轴异响，无法启动。"
    assert fact(page, "cause") == "使用不当"  # the option's label, never the raw value
    # The archive's contract wins over the unticked box of the form: the data agrees with category A.
    assert fact(page, "contract_in_force") == "是"
    assert fact(page, "contract_number") == "WB-2026-0042"
    assert fact(page, "product_in_archive") == "已找到"
    category = decision(page, "decide_category")
    assert category.startswith("A 合同服务") and "维保合同在有效期内" in category
    clock_text = page.split('id="sla-clock"', 1)[1].split("</ul>", 1)[0]
    assert "响应超时" in clock_text and "电话指导" in clock_text  # the response limit and the step's due
    # Limits computed ahead show before their step begins: the arrival runs from the call.
    assert "时限：到达现场时限" in clock_text

    cs1.post(f"/tasks/{guidance.id}", data={"solved_by_phone": "no"})
    dispatch = web.open_task(number, "task_dispatch")
    page = web.client("sup1").get(f"/tasks/{dispatch.id}").text
    assert decision(page, "decide_category").startswith("A 合同服务")
    assert fact(page, "contract_number") == "WB-2026-0042"


def test_a_rework_shows_why_the_supervisor_refused_the_acceptance(web: Web) -> None:
    number, arrival = web.repair_at_arrival()
    tech = Actor("tech1", frozenset({"technician"}))
    sup = Actor("sup1", frozenset({"service_supervisor"}))
    arrived = clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    web.engine.complete(arrival.id, {"arrived_at": arrived, "fault_level": "minor"}, tech)
    repair = web.open_task(number, "task_repair")
    web.engine.complete(repair.id, REPAIR_DONE, tech)
    acceptance = web.open_task(number, "task_acceptance")
    web.engine.complete(
        acceptance.id, {"accepted": "no", "acceptance_notes": "主轴仍有异响，须更换轴承"}, sup
    )

    rework = web.open_task(number, "task_repair")
    page = web.client("tech1").get(f"/tasks/{rework.id}").text
    assert 'id="rework"' in page
    assert fact(page, "acceptance_notes") == "主轴仍有异响，须更换轴承"


REPAIR_DONE = {
    "outcome": "fixed_on_site",
    "work_done": "更换主轴轴承",
    "hours_spent": "2",
    "customer_signature": signed_by("王工"),
}


def test_the_billing_clerk_sees_the_ledger_rows_the_check_matched(staff: Web) -> None:
    add_sale(staff.engine, "华山医院药房", 500, "B20260601", "XS-0007")
    sales = staff.client("sales1")
    response = sales.post("/start/sales_return", data=return_request())
    assert response.status_code == 302, response.text
    number = _number(staff, "sales_return")

    notice = staff.open_task(number, "task_return_notice")
    page = staff.client("bill1").get(f"/tasks/{notice.id}").text
    assert fact(page, "ledger.found") == "已找到"
    assert fact(page, "ledger.document_number") == "XS-0007"
    assert fact(page, "ledger.quantity_sold") == "500"
    assert "匹配的销售记录" in page and "华山医院药房" in page
    assert fact(page, "reason") == "近效期"


def _number(web: Web, process_key: str) -> str:
    with web.engine.sessions() as session:
        found = session.scalar(
            select(ProcessInstance.business_number)
            .where(ProcessInstance.process_key == process_key)
            .order_by(ProcessInstance.id.desc())
        )
    assert found
    return found


def test_variable_names_are_for_process_owners_behind_the_technical_toggle(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(
            session, "owner9", DEMO_PASSWORD, ("service_supervisor", "process_owner"), ROLE_KEYS, "蒋流程"
        )
    number = web.start_repair(web.client("cs1"))
    with web.engine.sessions() as session:
        case_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_number == number))

    manager = web.client("sup1").get(f"/manage/cases/{case_id}").text
    owner = web.client("owner9").get(f"/manage/cases/{case_id}").text

    assert "技术信息" not in manager and '<code class="data-key">' not in manager
    assert 'id="show-data-keys"' in owner and "技术信息" in owner
    assert '<code class="data-key">customer_phone</code>' in owner


def test_a_recalls_approval_and_reason_read_as_the_recall_names_them(staff: Web) -> None:
    with staff.engine.writer.begin() as session:
        create_user(session, "sup9", DEMO_PASSWORD, ("service_supervisor",), ROLE_KEYS, "sup9")
    qa = Actor("qa1", frozenset({"quality"}))
    case = staff.engine.start(
        "recall",
        {
            "product_name": "阿莫西林胶囊",
            "batch_numbers": "NO-SUCH-BATCH",
            "recall_type": "voluntary",
            "recall_level": "2",
            "reason": "抽检含量不合格",
        },
        qa,
    )
    page = staff.client("sup9").get(f"/manage/cases/{case.id}").text
    data = page[page.index('id="case-data"') : page.index('id="timeline"')]
    assert "<th>召回原因</th><td>抽检含量不合格</td>" in data
    assert "退货原因" not in data


def test_a_recall_to_five_customers_shows_each_customer_and_checks_the_quantities(staff: Web) -> None:
    for index, (purchaser, quantity) in enumerate(FIVE_CUSTOMERS):
        add_sale(staff.engine, purchaser, quantity, "RC-2601", f"XS-RC-{index}")
    qa1 = staff.client("qa1")
    opened = qa1.post(
        "/start/recall",
        data={
            "product_name": "阿莫西林胶囊",
            "specification": "0.25g×24粒",
            "batch_numbers": "RC-2601",
            "recall_type": "voluntary",
            "recall_level": "1",
            "reason": "抽检含量不合格",
        },
    )
    assert opened.status_code == 302, opened.text
    number = _number(staff, "recall")
    now = clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    to_return = {"瑞金医院药剂科": 60, "华山医院药房": 40}

    with staff.engine.sessions() as session:
        case_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_number == number))
        notify = session.scalars(
            select(Task).where(
                Task.instance_id == case_id, Task.spec_id == "task_notify", Task.state == "open"
            )
        ).all()
    assert len(notify) == 5
    page = qa1.get(f"/tasks/{notify[0].id}").text
    table = page[page.index('id="recall-customers"') :]
    for purchaser, quantity in FIVE_CUSTOMERS:
        assert f'<tr data-customer="{purchaser}"><td>{purchaser}</td><td>{purchaser}联系人' in table
        assert f"<td>{quantity}</td>" in table
    assert '<td id="recall-shipped">230</td>' in table

    for task in notify:
        customer = task.name.split(" ", 1)[1]
        shipped = dict(FIVE_CUSTOMERS)[customer]
        data = {
            "notified_at": now,
            "method": "phone",
            "contact_person": "药剂科主任",
            "acknowledged": "on",
            "quantity_to_return": str(shipped + 1),
        }
        refused = qa1.post(f"/tasks/{task.id}", data=data)  # more than was shipped to this customer
        assert refused.status_code == 422
        assert f"不能大于发货数量（{shipped}）" in refused.text
        data["quantity_to_return"] = str(to_return.get(customer, 0))
        assert qa1.post(f"/tasks/{task.id}", data=data).status_code == 302

    page = qa1.get(f"/tasks/{notify[0].id}").text  # a completed notification shows the table too
    row = page[page.index('<tr data-customer="瑞金医院药剂科">') :].split("</tr>", 1)[0]
    assert f"<td>{now}</td><td>是</td><td>60</td><td>—</td>" in row

    wh1 = staff.client("wh1")
    for customer, quantity in to_return.items():
        task = next(t for t in _open_tasks(staff, case_id, "task_collect") if t.name.endswith(customer))
        received = {
            "received_on": today().isoformat(),
            "received_quantity": str(quantity),
            "package_condition": "intact",
            "temperature_records": "not_applicable",
        }
        assert wh1.post(f"/tasks/{task.id}", data=received).status_code == 302
    report = staff.open_task(number, "task_report")
    done = qa1.post(
        f"/tasks/{report.id}",
        data={
            "reported_to_manufacturer": "on",
            "reported_to_regulator": "on",
            "report_date": today().isoformat(),
            "report_summary": "已报告",
        },
    )
    assert done.status_code == 302

    dispose = staff.open_task(number, "task_dispose")
    disposal = {
        "disposal_method": "destroy",
        "disposal_quantity": "230",
        "disposal_date": today().isoformat(),
        "disposal_witnesses": "周质管",
    }
    refused = qa1.post(f"/tasks/{dispose.id}", data=disposal)
    assert refused.status_code == 422
    assert "「处置数量」不能大于收回数量（100）" in refused.text
    assert staff.open_task(number, "task_dispose").id == dispose.id  # nothing moved on
    assert qa1.post(f"/tasks/{dispose.id}", data={**disposal, "disposal_quantity": "100"}).status_code == 302

    summary = staff.open_task(number, "task_summary")
    page = staff.client("gm1").get(f"/tasks/{summary.id}").text
    table = page[page.index('id="recall-customers"') :].split("</table>", 1)[0]
    assert '<td id="recall-shipped">230</td>' in table and '<td id="recall-recovered">100</td>' in table
    row = table[table.index('<tr data-customer="华山医院药房">') :].split("</tr>", 1)[0]
    assert row.endswith("<td>50</td><td>" + now + "</td><td>是</td><td>40</td><td>40</td>")
    # The history names whom each notification and receipt concerned.
    history = page[page.index('<ol class="history">') :]
    assert "通知 瑞金医院药剂科" in history and "接收召回产品 华山医院药房" in history


def _open_tasks(web: Web, case_id: int, spec_id: str) -> list[Task]:
    with web.engine.sessions() as session:
        return list(
            session.scalars(
                select(Task).where(Task.instance_id == case_id, Task.spec_id == spec_id, Task.state == "open")
            )
        )


def test_an_emergencys_dispatch_is_due_before_its_arrival_band_runs_out(web: Web) -> None:
    cs1 = web.client("cs1")
    called = clock.now()
    number = web.start_repair(cs1, urgency="emergency", distance_band="urban")
    guidance = web.open_task(number, "task_remote_guidance")
    cs1.post(f"/tasks/{guidance.id}", data={"solved_by_phone": "no"})

    dispatch = web.open_task(number, "task_dispatch")

    # Urban arrival within six working hours of the call [000 篇二 17) 「上班时间内六小时」]:
    # dispatching 2 working days later could never meet it, so the dispatch is due by the
    # arrival limit, counted on the working-time calendar from the call.
    arrival_due = web.engine.config.calendar.count_due(called, 6, "working_hours")
    assert dispatch.due_at is not None
    assert dispatch.due_at <= arrival_due + timedelta(minutes=1)
    assert dispatch.due_at < web.engine.config.calendar.count_due(called, 2, "working_days")
    page = web.client("sup1").get(f"/tasks/{dispatch.id}").text
    assert "环节到期：派工" in page


def test_a_complaint_shows_its_facts_the_suggested_severity_and_the_closure_limit(staff: Web) -> None:
    sales1 = staff.client("sales1")
    assert sales1.post("/start/complaint", data=dict(COMPLAINT_RECEIVED)).status_code == 302
    number = _number(staff, "complaint")

    first = staff.open_task(number, "task_first_response")
    page = sales1.get(f"/tasks/{first.id}").text
    assert fact(page, "customer_phone") == "010-69156114"
    assert fact(page, "product_model") == "PM-9000"
    assert fact(page, "defect_quantity") == "1" and fact(page, "quantity") == "20"
    assert "repair_quality" not in page.split('id="facts"', 1)[1].split("</section>", 1)[0]
    sales1.post(
        f"/tasks/{first.id}",
        data={"first_response_channel": "phone", "first_response_text": "已收到，三日内答复"},
    )

    register = staff.open_task(number, "task_register")
    page = staff.client("qa1").get(f"/tasks/{register.id}").text
    severity = decision(page, "decide_severity")
    assert severity.startswith("一般") and "其余投诉" in severity
    clock_text = page.split('id="sla-clock"', 1)[1].split("</ul>", 1)[0]
    # The 5-day closure limit runs on every step after intake [001 客户投诉案件处理期限 1].
    assert "时限：结案时限已到" in clock_text and "环节到期：投诉登记与甄别" in clock_text
    assert register.due_at is not None


def test_the_return_approvers_see_the_eligibility_rule_that_fired(staff: Web) -> None:
    add_sale(staff.engine, "华山医院药房", 500, "B20260601", "XS-0007")
    assert staff.client("sales1").post("/start/sales_return", data=return_request()).status_code == 302
    number = _number(staff, "sales_return")
    notice = staff.open_task(number, "task_return_notice")
    staff.client("bill1").post(
        f"/tasks/{notice.id}",
        data={
            "is_our_sale": "yes",
            "original_document_number": "XS-0007",
            "return_notice_number": "XT-01",
            "reason_verified": "yes",
            "notice_note": "与销售记录一致",
        },
    )

    approval = staff.open_task(number, "task_approve_business")
    page = staff.client("bm1").get(f"/tasks/{approval.id}").text
    eligibility = decision(page, "decide_eligibility")
    assert eligibility.startswith("符合") and "以上条件都满足" in eligibility
    assert fact(page, "ledger.sale_date") == (today() - timedelta(days=10)).isoformat()
