"""English mode in a real browser: the inbox, a task page and a case page name no process or step in Chinese.

sup1 (a supervisor, who oversees every task and reads the managers' case pages) switches to
English and reads the team inbox (a repair waiting for 派工 and a complaint waiting for its
registration, whose title is computed from the case), the 派工 task page (its heading, summary, SLA clock, history and diagram) and the
repair's case page (stages, the steps' data, the diagram, the timeline). Process and step names
must carry no Chinese character; customers' and products' names are data and stay as entered.
Each page is also kept as docs/screenshots/en-*.png when AFTERFLOW_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.accounts.users import Actor
from tests.conftest import COMPLAINT_RECEIVED
from tests.e2e.conftest import CHROMIUM, ROOT, TIMEOUT_MS, Served, log_in, new_page, shot
from tests.e2e.walks import Walk, today

pytestmark = pytest.mark.e2e
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CS = Actor("cs1", frozenset({"customer_service"}))
SALES = Actor("sales1", frozenset({"sales"}))
REPAIR = {
    "channel": "phone",
    "customer_name": "华东精密机械有限公司",
    "customer_phone": "021-5555-0101",
    "customer_address": "上海市浦东新区张江路 88 号",
    "product_model": "HX-200 数控机床",
    "serial_number": "SN-EN-1",
    "fault_description": "主轴异响，无法启动。",
    "urgency": "normal",
    "distance_band": "urban",
    "contract_in_force": True,
    "cause": "normal",
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium as in conftest.py; for kept screenshots, with the app's Chinese font (data reads as text)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    env = dict(os.environ)
    if os.environ.get("AFTERFLOW_SCREENSHOTS") == "1":
        folder = tmp_path_factory.mktemp("fonts")
        (folder / "fonts.conf").write_text(
            '<?xml version="1.0"?><fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
            f"<dir>{ROOT / 'web' / 'static' / 'vendor' / 'fonts'}</dir><cachedir>{folder}</cachedir></fontconfig>",
            encoding="utf-8",
        )
        env["FONTCONFIG_FILE"] = str(folder / "fonts.conf")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            env=env,
        )
        try:
            yield launched
        finally:
            launched.close()


def chinese_in(texts: list[str]) -> list[str]:
    return [text for text in texts if CHINESE.search(text)]


def texts(page: Any, selector: str) -> list[str]:
    return [" ".join((text or "").split()) for text in page.locator(selector).all_text_contents()]


OWN_TEXT = "items => items.map(li => Array.from(li.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join(' '))"


def own_text(page: Any, selector: str) -> list[str]:
    """The text directly inside each element (its step and label), not its children's (people, data)."""
    return [
        re.sub(r"·.*", "", " ".join(text.split())) for text in page.eval_on_selector_all(selector, OWN_TEXT)
    ]


def keep(page: Any, folder: Path, name: str) -> None:
    """Take the screenshot (it must render), kept in docs/screenshots/ when asked for."""
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).stat().st_size > 10_000
    shot(page, name)


def test_english_pages_name_no_process_or_step_in_chinese(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    repair = served.engine.start("repair_service", dict(REPAIR), CS)
    number = repair.business_number
    assert number is not None
    walk = Walk(browser, served)
    guidance = walk.task(number, "task_remote_guidance")
    served.engine.complete(guidance.id, {"solved_by_phone": "no", "guidance_notes": "无法远程解决。"}, CS)
    dispatch = walk.task(number, "task_dispatch")
    received = {**COMPLAINT_RECEIVED, "delivery_date": today().isoformat()}
    complaint = served.engine.start("complaint", received, SALES).business_number
    assert complaint is not None
    first = walk.task(complaint, "task_first_response")
    served.engine.complete(
        first.id, {"first_response_channel": "phone", "first_response_text": "已收到"}, SALES
    )

    sup1 = new_page(browser, served.url)
    log_in(sup1, "sup1", "/?tab=team")
    sup1.click("#lang-switch")
    expect(sup1.locator("h1")).to_have_text("Inbox")

    # --- the inbox ---------------------------------------------------------------------------
    sup1.goto("/?tab=team")
    rows = sup1.locator("#team tbody tr")
    expect(rows.filter(has_text=number)).to_have_count(1)
    assert rows.count() >= 2
    steps = texts(sup1, "#team tbody td.step")
    processes = texts(sup1, "#team tbody td[data-label='Process']")
    # A title computed from the case reads in English too (the diagram's title_en).
    assert "Dispatch" in steps and "Register and screen the complaint (suggested: general)" in steps, steps
    assert set(processes) >= {"Repair service", "Customer complaint handling"}, processes
    assert not chinese_in(steps + processes), steps + processes
    options = texts(sup1, "#filter-process option") + texts(sup1, "#filter-step option")
    assert not chinese_in(options), chinese_in(options)
    keep(sup1, tmp_path, "en-inbox.png")

    # --- a task page ------------------------------------------------------------------------
    sup1.goto(f"/tasks/{dispatch.id}")
    sup1.wait_for_selector("#diagram[data-ready]")
    expect(sup1.locator("h1")).to_have_text("Dispatch")
    summary = texts(sup1, ".case-summary dl:first-of-type dd")
    names = texts(sup1, "h1") + texts(sup1, "p.crumbs") + [summary[1], summary[6]]  # process, current step
    names += [re.sub(r"·.*", "", text) for text in texts(sup1, "#sla-clock li")]  # limit and step names
    history = own_text(sup1, "ol.history > li")
    assert any("Phone guidance" in entry for entry in history), history
    names += history
    diagram = texts(sup1, "#diagram svg text")
    assert diagram, "the diagram shows its labels"
    assert not chinese_in(names), chinese_in(names)
    assert not chinese_in(diagram), chinese_in(diagram)
    keep(sup1, tmp_path, "en-task.png")

    # --- the case page ----------------------------------------------------------------------
    sup1.goto(f"/manage/cases/{walk.case_id(number)}")
    sup1.wait_for_selector("#case-diagram svg text")
    names = [re.sub(r"<[^>]+>", "", sup1.inner_html("#case-header h1"))]
    names += texts(sup1, "#case-step") + texts(sup1, "#case-stages .stage-name")
    names += [re.sub(r"·.*", "", text) for text in texts(sup1, "#case-data .entered-step h3")]
    names += own_text(sup1, "#timeline > li")
    assert len(names) > 4
    diagram = texts(sup1, "#case-diagram svg text")
    assert not chinese_in(names), chinese_in(names)
    assert not chinese_in(diagram), chinese_in(diagram)
    keep(sup1, tmp_path, "en-case.png")
    sup1.context.close()
