"""Registration in a real browser: the customer and the product are picked from the archive as one types.

cs1 opens the repair registration, types part of a hospital's name and picks it: its phone and
address fill in; the product field then offers that hospital's devices, and picking one fills
model, serial number, warranty end and the maintenance contract box. A name not in the archive
is added to it from the same list.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from processes.demo.records import load_demo_records
from processes.records.models import Customer
from tests.e2e.conftest import Served, log_in, new_page

pytestmark = pytest.mark.e2e


def test_a_customer_and_product_are_picked_and_a_new_customer_added(browser: Any, served: Served) -> None:
    with served.engine.writer.begin() as session:
        load_demo_records(session)
    page = new_page(browser, served.url)
    log_in(page, "cs1", "/start/repair_service")
    page.fill("input[name=customer_name]", "申江")
    page.locator(".picker-option", has_text="上海申江第一人民医院").click()
    assert page.input_value("input[name=customer_name]") == "上海申江第一人民医院"
    assert page.input_value("input[name=customer_phone]") == "021-64369181"
    assert page.input_value("input[name=customer_address]") == "上海市徐汇区宜山路 600 号"

    page.click("input[name=product_model]")  # the picked customer's devices are offered at once
    options = page.locator("#picker-product-product_model .picker-option")
    options.first.wait_for()
    assert options.count() == 3
    page.locator("#picker-product-product_model .picker-option", has_text="SN-VT6-2303011").click()
    assert page.input_value("input[name=product_model]") == "VT-600"
    assert page.input_value("input[name=serial_number]") == "SN-VT6-2303011"
    assert page.input_value("input[name=warranty_end]")
    assert page.is_checked("input[name=contract_in_force]")  # WB-DEMO-001 covers all its devices

    page.fill("input[name=customer_name]", "浏览器新增诊所")
    page.locator(".picker-add button").click()
    page.locator(".picker-added").wait_for()
    with served.engine.sessions() as session:
        added = session.scalar(select(Customer).where(Customer.name == "浏览器新增诊所"))
    assert added is not None and added.phone == "021-64369181"  # the phone typed on the form
