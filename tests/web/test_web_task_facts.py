"""Every task page shows the case's facts, the engine's decisions with their reasons, and its limits.

Each test walks a case through the web as the demo users would and reads the facts panel of
the task pages (``<dd data-fact="…">``, ``<dd data-decision="…">``, the SLA clock).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor, create_user
from engine.store.models import ProcessInstance
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.records.models import Customer, MaintenanceContract, Product, SalesLedgerEntry
from processes.roles import ROLE_KEYS
from tests.web.conftest import Web

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


def archive_product_with_contract(web: Web, serial: str) -> None:
    with web.engine.writer.begin() as session:
        customer = Customer(name="华东精密机械有限公司", phone="021-5555-0101", created_at=clock.now())
        session.add(customer)
        session.flush()
        product = Product(
            customer_id=customer.id,
            model="HX-200 数控机床",
            serial_number=serial,
            sale_date=today() - timedelta(days=800),
            invoice_date=today() - timedelta(days=800),
            warranty_end=today() - timedelta(days=435),
        )
        session.add(product)
        session.flush()
        session.add(
            MaintenanceContract(
                number="WB-2026-0042",
                customer_id=customer.id,
                product_id=product.id,
                starts_on=today() - timedelta(days=30),
                ends_on=today() + timedelta(days=335),
            )
        )


def test_a_misused_machine_under_contract_shows_category_a_and_the_contract_on_each_task(web: Web) -> None:
    archive_product_with_contract(web, "SN-ARCH-7")
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
    "customer_signed": "on",
}


def add_ledger_line(
    web: Web, purchaser: str, quantity: int, batch: str = "B20260601", document: str = "XS-0007"
) -> None:
    with web.engine.writer.begin() as session:
        session.add(
            SalesLedgerEntry(
                document_number=document,
                line_number=1,
                product_name="阿莫西林胶囊",
                specification="0.25g×24粒",
                batch_number=batch,
                expiry_date=today() + timedelta(days=500),
                quantity=quantity,
                unit="盒",
                unit_price=Decimal("12.5000"),
                sale_date=today() - timedelta(days=10),
                purchaser_name=purchaser,
                purchaser_contact=f"{purchaser}联系人 021-5288{quantity:04d}",
                imported_at=clock.now(),
            )
        )


def test_the_billing_clerk_sees_the_ledger_rows_the_check_matched(staff: Web) -> None:
    add_ledger_line(staff, "华山医院药房", 500)
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


def return_request(**changes: str) -> dict[str, str]:
    data = {
        "customer_name": "华山医院药房",
        "customer_type": "institution",
        "customer_phone": "021-52888888",
        "product_name": "阿莫西林胶囊",
        "specification": "0.25g×24粒",
        "batch_number": "B20260601",
        "quantity": "20",
        "expiry_date": (today() + timedelta(days=500)).isoformat(),
        "reason": "near_expiry",
        "reason_detail": "",
        "package_intact": "yes",
        "purchase_voucher_number": "FP-0098812",
        "purchase_date": (today() - timedelta(days=10)).isoformat(),
        "cold_chain": "no",
        "requested_remedy": "refund",
    }
    data.update(changes)
    return data


def _number(web: Web, process_key: str) -> str:
    with web.engine.sessions() as session:
        found = session.scalar(
            select(ProcessInstance.business_number)
            .where(ProcessInstance.process_key == process_key)
            .order_by(ProcessInstance.id.desc())
        )
    assert found
    return found
