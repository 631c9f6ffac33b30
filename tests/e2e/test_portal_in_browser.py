"""A customer's repair from the self-service page to the KPIs, in Debian's chromium on a phone-sized screen.

The customer submits a repair with a photo on /portal, customer service finds it in the inbox and
confirms the pre-filled registration, the staff steps run through the engine (as the other
browser tests drive the steps they do not look at), the customer rates the service on the status
page, and the supervisor sees the rating in the KPIs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine import clock
from engine.accounts.users import Actor
from engine.store.models import ProcessInstance, Task
from processes.demo.signatures import signed_by
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page, shot

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
#: A one-pixel PNG.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def complete(served: Served, number: str, spec_id: str, data: dict[str, Any], actor: Actor) -> None:
    from sqlalchemy import select

    with served.engine.sessions() as session:
        task_id = session.scalar(
            select(Task.id)
            .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
            .where(ProcessInstance.business_number == number, Task.spec_id == spec_id, Task.state == "open")
        )
    assert task_id is not None, f"{number} has no open {spec_id}"
    served.engine.complete(task_id, data, actor)


def test_a_customer_repair_from_the_portal_to_the_kpis(browser: Any, served: Served) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)

    # --- the customer, on a phone, submits a repair request with a photo ----------------------
    customer = new_page(browser, served.url, PHONE)
    customer.goto("/portal/")
    customer.click("#new-repair")
    customer.fill("#field-customer_name", "华东人民医院设备科")
    customer.fill("#field-customer_phone", "021-5555-0199")
    customer.fill("#field-product_model", "XR-200")
    customer.fill("#field-serial_number", "SN-PORTAL-E2E")
    customer.fill("#field-fault_description", "开机后屏幕闪烁，无法进入主界面。")
    customer.set_input_files(
        "#field-photos", files=[{"name": "屏幕.png", "mimeType": "image/png", "buffer": PNG}]
    )
    question = customer.locator("label[for=field-challenge_answer]").inner_text()
    first, second = map(int, re.search(r"(\d+) \+ (\d+)", question).groups())  # type: ignore[union-attr]
    customer.fill("#field-challenge_answer", str(first + second))
    # Phone-first: the form fits the screen, no sideways scrolling.
    assert customer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    customer.click("#submit")
    expect(customer.locator("#case-number")).to_have_text(re.compile(r"RO-\d{8}-\d{4}"))
    number = customer.locator("#case-number").inner_text()
    link = customer.locator("#status-link").get_attribute("href")
    assert link and "/portal/status/" in link
    shot(customer, "portal-submitted.png")

    customer.goto(link)
    expect(customer.locator("li.stage.current")).to_have_text("客服正在核对您的申请")
    expect(customer.locator("#promise")).to_be_visible()

    # --- customer service finds it in the inbox and confirms the pre-filled registration ------
    cs1 = new_page(browser, served.url)
    log_in(cs1, "cs1", "/?tab=offered")
    row = cs1.locator("#offered tbody tr").filter(has_text=number).filter(has_text="网上报修登记")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("华东人民医院设备科")
    row.locator("a", has_text="网上报修登记").click()
    expect(cs1.locator("#field-serial_number")).to_have_value("SN-PORTAL-E2E")
    expect(cs1.locator("#field-channel")).to_have_value("web")
    expect(cs1.locator("body")).to_contain_text("屏幕.png")
    cs1.select_option("#field-distance_band", label="市区")
    cs1.check("#field-contract_in_force")
    cs1.click("#complete")
    cs1.wait_for_load_state()

    # --- the staff steps, through the engine ---------------------------------------------------
    cs, sup, tech = (
        Actor("cs1", frozenset({"customer_service"})),
        Actor("sup1", frozenset({"service_supervisor"})),
        Actor("tech1", frozenset({"technician"})),
    )
    complete(served, number, "task_remote_guidance", {"solved_by_phone": "no"}, cs)
    complete(served, number, "task_dispatch", {"technician": "tech1"}, sup)
    customer.reload()
    expect(customer.locator("li.stage.current")).to_have_text("技术员正在赶来")
    complete(
        served, number, "task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, tech
    )
    complete(
        served,
        number,
        "task_repair",
        {"outcome": "fixed_on_site", "work_done": "更换电源板", "customer_signature": signed_by("王工")},
        tech,
    )
    complete(served, number, "task_acceptance", {"accepted": "yes"}, sup)

    # --- the customer rates the service on the status page --------------------------------------
    customer.reload()
    expect(customer.locator("li.stage.current")).to_have_text("请为我们的服务评分")
    customer.check("input[name=rating_attitude][value=very_satisfied]")
    customer.check("input[name=rating_technique][value=very_satisfied]")
    customer.check("input[name=rating_arrival_time][value=satisfied]")
    customer.check("input[name=rating_promises][value=average]")
    customer.fill("#field-suggestions", "师傅很专业，来得也快。")
    shot(customer, "portal-rating.png")
    customer.click("#rate")
    expect(customer.locator("#rating-thanks")).to_be_visible()
    expect(customer.locator("#closed")).to_be_visible()
    expect(customer.locator("#rating-form")).to_have_count(0)

    # --- the rating shows in the KPIs -----------------------------------------------------------
    sup1 = new_page(browser, served.url)
    log_in(sup1, "sup1", "/manage/kpis")
    expect(sup1.locator("#kpi-satisfaction .kpi-detail")).to_contain_text("3 / 4")
    criteria = sup1.locator("#kpi-criteria-table")
    expect(criteria.locator("tr", has_text="答应事情的办理")).to_contain_text("0/1")
    expect(criteria.locator("tr", has_text="服务态度")).to_contain_text("1/1")
