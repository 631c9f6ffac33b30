"""On a phone, the technician completes 现场维修 (fixed on site) only after the customer has signed on screen."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor
from engine.audit.verify import verify
from engine.signatures.images import png_size
from engine.signatures.records import signatures_of_case
from engine.signatures.tables import Signature
from engine.store.models import ProcessInstance, Task
from tests.e2e.conftest import PHONE, TIMEOUT_MS, Served, draw_signature, log_in, new_page

pytestmark = pytest.mark.e2e

#: Arrivals are entered at the real time: an arrival before the call is refused.
SHANGHAI = ZoneInfo("Asia/Shanghai")

REGISTER = {
    "channel": "phone",
    "customer_name": "东海医疗器械有限公司",
    "customer_phone": "021-6666-0303",
    "customer_address": "上海市徐汇区漕溪路 18 号",
    "product_model": "HX-200 数控机床",
    "fault_description": "主轴异响。",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": True,
    "cause": "normal",
}


def open_task_id(served: Served, number: str, spec_id: str) -> str:
    with served.engine.sessions() as session:
        task_id = session.scalar(
            select(Task.id)
            .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
            .where(ProcessInstance.business_number == number, Task.spec_id == spec_id, Task.state == "open")
        )
    assert task_id is not None, spec_id
    return task_id


def repair_waiting_for_the_technician(served: Served) -> str:
    engine = served.engine
    number = engine.start(
        "repair_service", REGISTER, Actor("cs1", frozenset({"customer_service"}))
    ).business_number
    assert number is not None
    steps = [
        ("task_remote_guidance", {"solved_by_phone": "no"}, Actor("cs1", frozenset({"customer_service"}))),
        ("task_dispatch", {"technician": "tech1"}, Actor("sup1", frozenset({"service_supervisor"}))),
        (
            "task_arrival",
            {
                "arrived_at": clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
                "fault_level": "minor",
            },
            Actor("tech1", frozenset({"technician"})),
        ),
    ]
    for spec_id, data, actor in steps:
        engine.complete(open_task_id(served, number, spec_id), data, actor)
    return number


def test_the_technician_completes_the_repair_only_after_the_customer_signs(
    browser: Any, served: Served
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    number = repair_waiting_for_the_technician(served)
    task_id = open_task_id(served, number, "task_repair")
    tech = new_page(browser, served.url, PHONE)
    log_in(tech, "tech1", then=f"/tasks/{task_id}")
    expect(tech.locator("#field-customer_signature-pad")).to_be_visible()
    tech.check("input[name=outcome][value=fixed_on_site]")
    tech.fill("#field-work_done", "更换主轴轴承。")
    tech.fill("#field-hours_spent", "2")

    # Without the customer's signature the step stays open, with the reason at the field.
    tech.click("#complete")
    expect(tech.locator("#field-customer_signature-error")).to_contain_text("客户尚未签字")
    assert open_task_id(served, number, "task_repair") == task_id

    # The customer signs with the mouse standing in for a finger; the technician completes the step.
    tech.check("input[name=outcome][value=fixed_on_site]")
    tech.fill("#field-work_done", "更换主轴轴承。")
    tech.fill("#field-hours_spent", "2")
    draw_signature(tech, "customer_signature", "王建国")
    tech.click("#complete")
    expect(tech.locator("p.flash.ok")).to_contain_text(number)

    with served.engine.sessions() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_number == number)
        )
        assert instance_id is not None
        (kept,) = signatures_of_case(session, instance_id)
        image = session.scalar(select(Signature.image).where(Signature.id == kept.id))
        assert verify(session, number) == []
    assert (kept.signer_name, kept.collected_by, kept.refused) == ("王建国", "tech1", False)
    assert image is not None and image.startswith(b"\x89PNG")
    width, height = png_size(image)
    assert width >= 300 and height >= 100, "the canvas is drawn at the phone's resolution"
    assert len(set(image)) > 50, "the strokes are in the picture (not a blank canvas)"
