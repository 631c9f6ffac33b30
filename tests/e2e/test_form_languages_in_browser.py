"""Forms in both languages, in a real browser: texts side by side, previews in Chinese and English, signatures.

owner1 opens the repair work form (with its customer's signature) and 电话指导's form: every label's English text stands beside the Chinese one and both
previews show the form. Renaming a Chinese label marks its English text for review until the
English is edited; a signature field added from the palette (form-js now knows our type, with
its properties) gets an empty English input, marked missing, and the deploy names it as a warning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine.store.models import ProcessDefinition
from tests.e2e.conftest import TIMEOUT_MS, Served
from tests.e2e.test_modeler_in_browser import open_editor, owner  # noqa: F401  # the fixture

pytestmark = pytest.mark.e2e

FORM = "repair_remote_guidance.form.json"
RENAME = """(label) => {
  const editor = window.afterflowModeler.form();
  const field = editor.get('formFieldRegistry').getAll().find(f => f.key === 'guidance_notes');
  editor.get('modeling').editFormField(field, 'label', label);
  return field.id;
}"""


def test_both_languages_are_edited_together_and_previewed(browser: Any, owner: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = open_editor(browser, owner.url)
    box = page.locator("#form-languages")
    expect(box).to_be_hidden()
    page.click("button[data-file='repair_work.form.json']")
    page.wait_for_function("() => window.afterflowModeler.form() !== null")
    expect(box).to_be_visible()
    zh, en = box.locator(".form-preview-zh"), box.locator(".form-preview-en")
    # A form with our signature field opens, and both previews show it.
    expect(zh).to_contain_text("客户在服务凭证上签字")
    expect(en).to_contain_text("Customer's signature on the service voucher")
    page.click(f"button[data-file='{FORM}']")
    expect(zh).to_contain_text("电话指导已解决")
    expect(en).to_contain_text("Solved by phone")

    notes = page.evaluate(RENAME, "处理记录（改）")
    row = box.locator(f"tr[data-component={notes}]")
    expect(row).to_have_attribute("data-state", "review")
    expect(zh).to_contain_text("处理记录（改）")
    row.locator("input").fill("Handling record")
    row.locator("input").press("Enter")
    row.locator("input").blur()
    expect(row).to_have_attribute("data-state", "ok")
    expect(en).to_contain_text("Handling record")

    signature = page.locator(".fjs-palette-field[data-field-type=signature]")
    expect(signature).to_be_visible()
    signature.focus()
    page.keyboard.press("Enter")
    added = page.evaluate(
        "() => window.afterflowModeler.form().get('formFieldRegistry').getAll()"
        ".filter(f => f.type === 'signature').map(f => f.id)"
    )
    assert len(added) == 1
    new_row = box.locator(f"tr[data-component={added[0]}]")
    expect(new_row).to_have_attribute("data-state", "missing")
    page.click(f"#form-container [data-id={added[0]}]")
    properties = page.locator("#form-container .fjs-properties-panel")
    expect(properties).to_contain_text("Key")
    expect(properties).to_contain_text("Required")

    page.fill("#change-summary", "处理记录改名；客户签字")
    page.click("#deploy")
    expect(page.locator("#modeler-app")).to_have_attribute("data-deployed", "ok")
    with owner.engine.sessions() as session:
        newest = session.scalars(
            select(ProcessDefinition)
            .options(undefer(ProcessDefinition.files))
            .where(ProcessDefinition.process_key == "repair_service")
            .order_by(ProcessDefinition.version.desc())
        ).first()
        assert newest is not None
        form = json.loads(newest.files[FORM])
    by_id = {c["id"]: c for c in form["components"]}
    assert by_id[notes]["label"] == "处理记录（改）"
    assert by_id[notes]["properties"]["label_en"] == "Handling record"
    assert "label_en_review" not in by_id[notes]["properties"]
    assert by_id[added[0]]["type"] == "signature"
    expect(page.locator("#problems")).to_contain_text("no English text")
