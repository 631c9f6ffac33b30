"""The editor's canvas in a real browser: the palette beside the diagram, a flow's label, the lane choice.

1. The diagram opens fitted right of the palette: no shape lies under it.
2. Clicking a flow's label shows that flow in the side panel.
3. A task in a lane is offered only lanes (no "—" that would leave it where it is); choosing
   another lane moves it there.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.accounts.users import create_user
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.e2e.conftest import TIMEOUT_MS, Served, log_in, new_page

pytestmark = pytest.mark.e2e

LEFTMOST_SHAPE = """() => {
  const shapes = [...document.querySelectorAll('.djs-container .djs-shape .djs-visual')];
  return shapes.length ? Math.min(...shapes.map((s) => s.getBoundingClientRect().left)) : null;
}"""
SELECT = "(id) => { const m = window.afterflowModeler.bpmn; m.get('selection').select(m.get('elementRegistry').get(id)); }"


@pytest.fixture(scope="module")
def owner(served: Served) -> Served:
    with served.engine.writer.begin() as session:
        create_user(session, "owner9", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "画布")
    return served


def test_canvas_palette_label_and_lane(browser: Any, owner: Served) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = new_page(browser, owner.url, {"width": 1000, "height": 1000})  # a wide diagram in a narrow window
    log_in(page, "owner9", "/modeler/repair_service/edit")
    page.wait_for_selector("#modeler-app[data-ready=true]")

    palette = page.locator(".djs-palette").bounding_box()
    assert palette is not None
    leftmost = page.evaluate(LEFTMOST_SHAPE)
    assert leftmost is not None and leftmost >= palette["x"] + palette["width"]

    page.evaluate(SELECT, "flow_take_back_label")
    expect(page.locator("#panel-id")).to_have_value("flow_take_back")

    page.evaluate(SELECT, "task_dispatch")
    lane = page.locator("#panel-lane")
    current = lane.input_value()
    options = lane.locator("option").all_text_contents()
    assert current and "—" not in options
    other = next(name for name in options if name != current)
    lane.select_option(other)
    page.evaluate(SELECT, "task_dispatch")
    expect(page.locator("#panel-lane")).to_have_value(other)
