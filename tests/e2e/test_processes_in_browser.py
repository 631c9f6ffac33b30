"""One case of each process walked in a real browser by the demo users, the facts read on each task page.

- repair: a machine misused (使用不当) under a maintenance contract the archive knows, the form's
  contract box left unticked: customer service and the supervisor see category A, the rule that
  chose it and the contract number;
- complaint: a general complaint from its registration by sales to the improvement check, each
  step done by its lane's user; every page shows the customer, the complaint, the suggested
  severity with its rule and the closure limit; the reply shows the approved disposition;
- sales return: the billing clerk sees the ledger rows the check matched, the approvers the
  eligibility rule that fired, and the case goes on to the refund;
- recall: a batch sold to five customers; every notification page lists the five with contact and
  shipped quantity; a disposal above the recovered quantity is refused with the message and
  nothing moves; the general manager's closure shows shipped against recovered per customer.

Each user logs in once and keeps its page for all the walks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import COMPLAINT_RECEIVED
from tests.e2e.conftest import TIMEOUT_MS, Served
from tests.e2e.walks import Walk, add_lane_users, local_now, today
from tests.web.conftest import FIVE_CUSTOMERS, add_sale, archive_machine_under_contract, closing_steps

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"[A-Z]{2,3}-\d{8}-\d{4}")


@pytest.fixture(scope="module")
def lanes(served: Served) -> Served:
    add_lane_users(served)
    return served


@pytest.fixture(scope="module")
def logged_in(browser: Any, lanes: Served) -> Iterator[dict[str, Any]]:
    """Each user's page, logged in once for all the walks of this module."""
    pages: dict[str, Any] = {}
    try:
        yield pages
    finally:
        Walk(browser, lanes, pages).close()


@pytest.fixture
def walk(browser: Any, lanes: Served, logged_in: dict[str, Any]) -> Walk:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return Walk(browser, lanes, logged_in)


def start(walk: Walk, username: str, process_key: str, answers: dict[str, Any]) -> str:
    """Start a case from its start form in the browser; return its business number."""
    page = walk.page(username)
    page.goto(f"/start/{process_key}")
    walk.fill(page, walk.start_form(process_key), answers)
    page.click("#start")
    flash = page.locator("p.flash.ok")
    flash.wait_for()
    found = NUMBER.search(flash.inner_text())
    assert found, flash.inner_text()
    return found.group(0)


# --- repair ---------------------------------------------------------------------------------------


def test_a_misused_machine_under_an_archived_contract_shows_category_a_and_the_contract(walk: Walk) -> None:
    from playwright.sync_api import expect

    archive_machine_under_contract(walk.served.engine, "SN-E2E-7", "WB-E2E-0042")
    number = start(
        walk,
        "cs1",
        "repair_service",
        {
            "channel": "phone",
            "customer_name": "华东精密机械有限公司",
            "customer_phone": "021-5555-0101",
            "customer_address": "上海市浦东新区张江路 88 号",
            "product_model": "HX-200 数控机床",
            "serial_number": "SN-E2E-7",
            "fault_description": "操作失误后主轴卡死。",
            "urgency": "normal",
            "distance_band": "urban",
            "contract_in_force": False,  # the form's box unticked: the archive knows better
            "cause": "misuse",
            "key_customer": False,
            "warranty_end": "",
        },
    )

    guidance = walk.task(number, "task_remote_guidance")
    cs1 = walk.open("cs1", guidance)
    expect(cs1.locator("#facts [data-fact=cause]")).to_have_text("使用不当")  # the label, never "misuse"
    assert walk.fact(cs1, "contract_in_force") == "是"
    assert walk.fact(cs1, "contract_number") == "WB-E2E-0042"
    assert walk.fact(cs1, "product_in_archive") == "已找到"
    category = walk.decision(cs1, "decide_category")
    assert category.startswith("A 合同服务") and "维保合同在有效期内" in category, category
    walk.complete(cs1, walk.form(guidance), {"solved_by_phone": "no", "guidance_notes": "无法远程解决。"})

    dispatch = walk.task(number, "task_dispatch")
    sup1 = walk.open("sup1", dispatch)
    assert walk.decision(sup1, "decide_category").startswith("A 合同服务")
    assert walk.fact(sup1, "contract_number") == "WB-E2E-0042"
    assert walk.fact(sup1, "fault_description") == "操作失误后主轴卡死。"
    expect(sup1.locator("#sla-clock")).to_contain_text("到达现场时限")
    walk.complete(sup1, walk.form(dispatch), {"technician": "tech1"})

    arrival = walk.task(number, "task_arrival")
    tech1 = walk.open("tech1", arrival)
    assert walk.fact(tech1, "customer_address") == "上海市浦东新区张江路 88 号"
    assert walk.fact(tech1, "technician") == "张工"  # by name, not by user name
    assert walk.decision(tech1, "decide_category").startswith("A 合同服务")


# --- complaint ------------------------------------------------------------------------------------


def test_a_general_complaint_is_walked_by_each_lane_with_its_facts_on_every_page(walk: Walk) -> None:
    from playwright.sync_api import expect

    received = {**COMPLAINT_RECEIVED, "delivery_date": (today() - timedelta(days=60)).isoformat()}
    number = start(walk, "sales1", "complaint", received)

    approved = False
    for spec_id, username, _role, answers in closing_steps(today()):
        task = walk.task(number, spec_id)
        page = walk.open(username, task)
        assert walk.fact(page, "customer_name") == "协和医院", spec_id
        assert walk.fact(page, "complaint_text") == "返修后的监护仪仍间歇性黑屏", spec_id
        assert walk.fact(page, "complaint_category") != "repair_quality", spec_id  # the label, not the code
        if spec_id != "task_first_response":  # severity is suggested once the first answer is given
            severity = walk.decision(page, "decide_severity")
            assert severity.startswith("一般") and "其余投诉" in severity, (spec_id, severity)
            expect(page.locator("#sla-clock"), spec_id).to_contain_text("结案时限")
        if spec_id == "task_gm_approval":
            expect(page.locator("#sign-off")).to_be_visible()  # signed with the password
        if approved:
            assert walk.fact(page, "approved_disposition") == "更换", spec_id
        walk.complete(page, walk.form(task), answers)
        approved = approved or spec_id == "task_gm_approval"

    assert walk.status(number) == "completed"


# --- sales return ---------------------------------------------------------------------------------


def test_a_sales_return_shows_the_billing_clerk_the_ledger_rows_and_the_approvers_the_rule(
    walk: Walk,
) -> None:
    from playwright.sync_api import expect

    add_sale(walk.served.engine, "华山医院药房", 500, "B20260601", "XS-E2E-0007")
    number = start(
        walk,
        "sales1",
        "sales_return",
        {
            "customer_name": "华山医院药房",
            "customer_type": "institution",
            "customer_phone": "021-52888888",
            "product_name": "阿莫西林胶囊",
            "specification": "0.25g×24粒",
            "batch_number": "B20260601",
            "quantity": "20",
            "expiry_date": (today() + timedelta(days=500)).isoformat(),
            "reason": "near_expiry",
            "package_intact": "yes",
            "purchase_voucher_number": "FP-0098812",
            "purchase_date": (today() - timedelta(days=10)).isoformat(),
            "cold_chain": "no",
            "requested_remedy": "refund",
        },
    )

    notice = walk.task(number, "task_return_notice")
    bill1 = walk.open("bill1", notice)
    assert walk.fact(bill1, "ledger.found") == "已找到"
    assert walk.fact(bill1, "ledger.document_number") == "XS-E2E-0007"
    assert walk.fact(bill1, "ledger.quantity_sold") == "500"
    assert walk.fact(bill1, "reason") == "近效期"
    matched = bill1.locator("#facts table.lookup")
    expect(matched).to_contain_text("XS-E2E-0007")
    expect(matched.locator("tbody tr")).to_have_count(1)
    expect(matched.locator("tbody tr")).to_contain_text("华山医院药房")
    expect(matched.locator("tbody tr")).to_contain_text("B20260601")
    walk.complete(
        bill1,
        walk.form(notice),
        {
            "is_our_sale": "yes",
            "original_document_number": "XS-E2E-0007",
            "return_notice_number": "XT-E2E-01",
            "reason_verified": "yes",
            "notice_note": "与销售记录一致",
        },
    )

    for spec_id, username, answers in (
        ("task_approve_business", "bm1", {"bm_approved": "yes", "bm_comment": "同意"}),
        ("task_approve_quality", "qa1", {"qa_approved": "yes", "qa_comment": "同意退回"}),
    ):
        task = walk.task(number, spec_id)
        page = walk.open(username, task)
        eligibility = walk.decision(page, "decide_eligibility")
        assert eligibility.startswith("符合") and "以上条件都满足" in eligibility, eligibility
        assert walk.fact(page, "ledger.sale_date") == (today() - timedelta(days=10)).isoformat()
        walk.complete(page, walk.form(task), answers)

    settle = (
        ("task_pickup", "sales1", {"pickup_vehicle": "沪A·12345", "temperature_documents": "not_applicable"}),
        (
            "task_receive",
            "wh1",
            {
                "goods_match": "yes",
                "received_quantity": "20",
                "temperature_records_complete": "not_applicable",
                "temperature_excursion": "not_applicable",
            },
        ),
        (
            "task_inspect",
            "wh2",
            {
                "inspection_result": "acceptable",
                "inspected_quantity": "20",
                "inspection_record_number": "YS-01",
            },
        ),
        ("task_restock", "wh1", {"storage_location": "A-03-02", "restocked_quantity": "20"}),
        ("task_refund", "fin1", {"refund_amount": "250", "refund_method": "bank_transfer"}),
    )
    for spec_id, username, answers in settle:
        task = walk.task(number, spec_id)
        page = walk.open(username, task)
        assert walk.fact(page, "customer_name") == "华山医院药房", spec_id
        assert walk.fact(page, "quantity") == "20", spec_id
        walk.complete(page, walk.form(task), answers)
    assert walk.status(number) == "completed"


# --- recall ---------------------------------------------------------------------------------------

TO_RETURN = {"瑞金医院药剂科": 60, "华山医院药房": 40}


def recall_rows(page: Any) -> dict[str, list[str]]:
    """The per-customer table as shown: customer -> its cells."""
    rows: dict[str, list[str]] = {}
    for row in page.locator("#recall-customers tbody tr").all():
        cells = [" ".join(cell.split()) for cell in row.locator("td").all_inner_texts()]
        rows[cells[0]] = cells
    return rows


def test_a_recall_to_five_customers_lists_each_and_checks_disposal_against_recovered(walk: Walk) -> None:
    from playwright.sync_api import expect

    for index, (purchaser, quantity) in enumerate(FIVE_CUSTOMERS):
        add_sale(walk.served.engine, purchaser, quantity, "RC-E2E-01", f"XS-RC-E2E-{index}")
    number = start(
        walk,
        "qa1",
        "recall",
        {
            "product_name": "阿莫西林胶囊",
            "specification": "0.25g×24粒",
            "batch_numbers": "RC-E2E-01",
            "recall_type": "voluntary",
            "recall_level": "1",
            "reason": "抽检含量不合格",
        },
    )

    notifications = walk.open_tasks(number, "task_notify")
    assert len(notifications) == 5
    notified_at = local_now().strftime("%Y-%m-%dT%H:%M")
    for task in notifications:
        qa1 = walk.open("qa1", task)
        customer = task.name.split(" ", 1)[1]
        expect(qa1.locator("h1")).to_have_text(f"通知 {customer}")
        assert walk.fact(qa1, "batch_numbers") == "RC-E2E-01" and walk.fact(qa1, "reason") == "抽检含量不合格"
        rows = recall_rows(qa1)
        assert sorted(rows) == sorted(name for name, _shipped in FIVE_CUSTOMERS)
        for name, shipped in FIVE_CUSTOMERS:
            assert rows[name][1].startswith(f"{name}联系人"), rows[name]
            assert rows[name][2] == str(shipped), rows[name]
        expect(qa1.locator("#recall-shipped")).to_have_text("230")
        walk.complete(
            qa1,
            walk.form(task),
            {
                "notified_at": notified_at,
                "method": "phone",
                "contact_person": "药剂科主任",
                "acknowledged": True,
                "quantity_to_return": str(TO_RETURN.get(customer, 0)),
            },
        )

    for task in walk.open_tasks(number, "task_collect"):
        customer = task.name.split(" ", 1)[1]
        wh1 = walk.open("wh1", task)
        expect(wh1.locator("h1")).to_have_text(f"接收召回产品 {customer}")
        assert (
            walk.fact(wh1, "product_name") == "阿莫西林胶囊"
            and walk.fact(wh1, "batch_numbers") == "RC-E2E-01"
        )
        expect(wh1.locator(f"#recall-customers tr[data-customer='{customer}']")).to_contain_text(
            str(TO_RETURN[customer])
        )
        walk.complete(
            wh1,
            walk.form(task),
            {
                "received_on": today().isoformat(),
                "received_quantity": str(TO_RETURN[customer]),
                "package_condition": "intact",
                "temperature_records": "not_applicable",
            },
        )

    report = walk.task(number, "task_report")
    qa1 = walk.open("qa1", report)
    expect(qa1.locator("#recall-recovered")).to_have_text("100")
    walk.complete(
        qa1,
        walk.form(report),
        {
            "reported_to_manufacturer": True,
            "reported_to_regulator": True,
            "report_date": today().isoformat(),
            "report_summary": "已向生产企业和药监部门报告",
        },
    )

    dispose = walk.task(number, "task_dispose")
    qa1 = walk.open("qa1", dispose)
    disposal = {
        "disposal_method": "destroy",
        "disposal_quantity": "230",
        "disposal_date": today().isoformat(),
        "disposal_witnesses": "周质管、冯仓管",
    }
    walk.complete(qa1, walk.form(dispose), disposal, expect_ok=False)
    expect(qa1.locator(".field[data-field=disposal_quantity]")).to_contain_text(
        "「处置数量」不能大于收回数量（100）"
    )
    assert walk.task(number, "task_dispose").id == dispose.id  # nothing moved on
    qa1.fill("#field-disposal_quantity", "100")
    qa1.click("#complete")
    expect(qa1.locator("p.flash.ok")).to_be_visible()

    summary = walk.task(number, "task_summary")
    gm1 = walk.open("gm1", summary)
    expect(gm1.locator("h1")).to_have_text("召回总结审批：发货 230，收回 100")
    expect(gm1.locator("#recall-shipped")).to_have_text("230")
    expect(gm1.locator("#recall-recovered")).to_have_text("100")
    rows = recall_rows(gm1)
    for name, shipped in FIVE_CUSTOMERS:
        returned = str(TO_RETURN[name]) if name in TO_RETURN else "—"
        assert (rows[name][2], rows[name][4], rows[name][6]) == (str(shipped), "是", returned), rows[name]
    # In English the computed title reads in English too, the figures kept (the diagram's title_en).
    gm1.click("#lang-switch")
    gm1.goto(f"/tasks/{summary.id}")
    expect(gm1.locator("h1")).to_have_text("Approve the recall summary: shipped 230, recovered 100")
    expect(gm1.locator("#recall-customers thead")).to_contain_text("Shipped")
    walk.complete(gm1, walk.form(summary), {"approved": "yes"})
    assert walk.status(number) == "completed"
    gm1.click("#lang-switch")  # back to Chinese for whatever walks next
    expect(gm1.locator("html")).to_have_attribute("lang", "zh-CN")
