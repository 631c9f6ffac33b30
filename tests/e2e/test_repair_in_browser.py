"""A repair case in a real browser: Debian's chromium driven by Playwright against the real app.

The walk: cs1 starts a repair case from the Chinese start form, trips over a required field on
电话指导, completes it (not solved by phone), sup1 finds 派工 in its inbox, a technician is
refused cs1's task, and the language switch turns the pages English. The fixtures (server,
browser) are in conftest.py; test_inbox_in_browser.py walks a whole case through five users.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT_MS, log_in, new_page

pytestmark = pytest.mark.e2e


def offered_row(page: Any, number: str, step: str) -> Any:
    """The row of ``step`` of case ``number`` in the 'my roles' open tasks' tab."""
    if "tab=offered" not in page.url:
        page.goto("/?tab=offered")
    return page.locator("#offered tbody tr").filter(has_text=number).filter(has_text=step)


def test_repair_case_in_the_browser(browser: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)

    # --- cs1 starts a repair case from the Chinese start form --------------------------------
    cs1 = new_page(browser, base_url)
    cs1.goto("/")
    assert "/login?next=" in cs1.url  # the inbox needs a login
    log_in(cs1, "cs1")
    expect(cs1.locator("h1")).to_have_text("待办")

    cs1.click("text=发起案件")
    cs1.click("a:has-text('维修服务')")
    expect(cs1.locator("#start-form h2")).to_have_text("报修登记")
    cs1.select_option("#field-channel", label="来访")
    cs1.fill("#field-customer_name", "华东精密机械有限公司")
    cs1.fill("#field-customer_phone", "021-5555-0101")
    cs1.fill("#field-customer_address", "上海市浦东新区张江路 88 号")
    cs1.fill("#field-product_model", "HX-200 数控机床")
    cs1.fill("#field-fault_description", "主轴异响，无法启动。")
    cs1.check("input[name=urgency][value=normal]")
    cs1.check("#field-key_customer")  # 重点客户: a class of customer, not an urgency [001 4.1]
    cs1.select_option("#field-distance_band", label="市区")
    cs1.check("#field-contract_in_force")  # 维保合同有效: an A case, dispatched when not solved
    cs1.select_option("#field-cause", label="正常使用")
    cs1.click("#start")

    flash = cs1.locator("p.flash.ok")
    expect(flash).to_contain_text("已创建案件 RO-")
    number = re.search(r"RO-\d{8}-\d{4}", flash.inner_text())
    assert number, flash.inner_text()
    number_text = number.group(0)

    row = offered_row(cs1, number_text, "电话指导")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("华东精密机械有限公司")

    # --- 电话指导: a required field left empty, then completed (not solved by phone) ---------
    row.locator("a", has_text="电话指导").click()
    expect(cs1.locator("h1")).to_have_text("电话指导")
    task_url = cs1.url
    # The facts to guide by, on the task itself: contact, fault, and why this is contract service.
    facts = cs1.locator("#facts")
    expect(facts.locator("[data-fact=customer_phone]")).to_have_text("021-5555-0101")
    expect(facts.locator("[data-fact=fault_description]")).to_have_text("主轴异响，无法启动。")
    expect(facts.locator("[data-decision=decide_category]")).to_contain_text("A 合同服务")
    expect(facts.locator("[data-decision=decide_category]")).to_contain_text("维保合同在有效期内")
    expect(facts.locator("#sla-clock")).to_contain_text("响应超时")
    cs1.fill("#field-guidance_notes", "已指导客户重启设备，仍有异响。")
    cs1.click("#complete")
    error = cs1.locator("#field-solved_by_phone-error")
    expect(error).to_be_visible()
    expect(cs1.locator(".field.has-error[data-field=solved_by_phone]")).to_contain_text("此项为必填项")
    expect(cs1.locator("#field-guidance_notes")).to_have_value("已指导客户重启设备，仍有异响。")
    # The error sits right under the field it is about.
    field_box = cs1.locator("#field-solved_by_phone").bounding_box()
    error_box = error.bounding_box()
    assert field_box and error_box and 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40

    cs1.check("input[name=solved_by_phone][value=no]")
    cs1.click("#complete")
    expect(cs1.locator("p.flash.ok")).to_contain_text(f"{number_text} 的「电话指导」已完成")
    cs1.goto("/?tab=done")
    expect(cs1.locator("#done tbody tr").filter(has_text=number_text)).to_contain_text("电话指导")
    expect(offered_row(cs1, number_text, "电话指导")).to_have_count(0)

    # --- sup1 finds 派工 in its inbox --------------------------------------------------------
    sup1 = new_page(browser, base_url)
    log_in(sup1, "sup1")
    dispatch = offered_row(sup1, number_text, "派工")
    expect(dispatch).to_have_count(1)

    # --- a technician is refused cs1's task --------------------------------------------------
    tech1 = new_page(browser, base_url)
    log_in(tech1, "tech1")
    response = tech1.goto(task_url)
    assert response is not None and response.status == 403
    expect(tech1.locator("h1")).to_have_text("403")
    expect(tech1.locator("main")).to_contain_text("您无权访问此页面。")
    assert "Traceback" not in tech1.content()
    assert "华东精密机械有限公司" not in tech1.content()

    # --- the language switch turns the pages English (and the choice sticks) -----------------
    sup1.click("#lang-switch")
    expect(sup1.locator("h1")).to_have_text("Inbox")
    expect(sup1.locator("html")).to_have_attribute("lang", "en")
    expect(sup1.locator("#offered thead")).to_contain_text("Due")

    # English readers see the step's English name in the inbox too.
    offered_row(sup1, number_text, "Dispatch").locator("a").click()
    expect(sup1.locator("#task-form h2")).to_have_text("Dispatch")
    expect(sup1.locator("label[for=field-technician]")).to_contain_text("Technician")
    expect(sup1.locator("#facts h2")).to_have_text("Case facts")
    expect(sup1.locator("#facts [data-decision=decide_category]")).to_contain_text("A contract service")
    sup1.click("#complete")
    expect(sup1.locator("#field-technician-error")).to_be_visible()
    expect(sup1.locator("p.flash.error")).to_contain_text("The form has errors")

    sup1.select_option("#field-technician", "tech1")
    sup1.click("#complete")
    expect(sup1.locator("p.flash.ok")).to_contain_text("is done")
    expect(sup1.locator("h1")).to_have_text("Inbox")

    tech1.goto("/?tab=mine")
    expect(tech1.locator("h1")).to_have_text("待办")  # each browser keeps its own language
    expect(tech1.locator("#mine tbody tr").filter(has_text=number_text)).to_contain_text("维修")
