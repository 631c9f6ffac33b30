"""The decision-table test panel in a real browser: typed inputs → the matched rule highlighted → outputs.

owner1 opens the SLA policy table, changes a cell without saving, types an emergency repair
response into the panel and sees the rule the hit policy chose marked in the table, the default
rule of the stage marked as matched too, and the outputs of the changed (undeployed) cell.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Served
from tests.e2e.test_modeler_in_browser import open_editor, owner  # noqa: F401  # the fixture

pytestmark = pytest.mark.e2e


def test_the_panel_shows_the_matched_rule_of_the_unsaved_table(browser: Any, owner: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = open_editor(browser, owner.url)
    panel = page.locator("#decision-test")
    expect(panel).to_be_hidden()
    page.click("button[data-file='sla_policy.dmn']")
    expect(panel).to_be_visible()
    cell = page.locator("td[data-element-id=rule_repair_response_emergency_amount]")
    cell.locator("[contenteditable]").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    expect(cell).to_contain_text("1")

    panel.locator("input[data-input-id=input_process]").fill("repair")
    panel.locator("input[data-input-id=input_stage]").fill("response")
    panel.locator("input[data-input-id=input_key]").fill("emergency")
    panel.locator("button[type=submit]").click()

    expect(panel).to_have_attribute("data-state", "ok")
    expect(panel.locator("li[data-rule=rule_repair_response_emergency]")).to_have_class("chosen")
    expect(panel.locator("li[data-rule=rule_repair_response_default]")).to_have_class("matched")
    expect(panel.locator("tr[data-output=sla_amount] td")).to_have_text("1")
    chosen = page.locator("#dmn-container td.dmn-test-chosen[data-row-id=rule_repair_response_emergency]")
    expect(chosen.first).to_be_visible()
    assert (
        page.locator("#dmn-container td.dmn-test-matched[data-row-id=rule_repair_response_default]").count()
        > 0
    )
    assert (
        page.locator("#dmn-container td.dmn-test-chosen[data-row-id=rule_repair_response_default]").count()
        == 0
    )
