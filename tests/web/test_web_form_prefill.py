"""A form asked for again opens with what the case already holds; a draft still wins."""

from __future__ import annotations

import re

from tests.conftest import actor
from tests.integration.test_deploy import mini_with
from tests.web.conftest import Web


def field_value(html: str, key: str) -> str | None:
    block = html[html.index(f'data-field="{key}"') :]
    block = block[: block.index("</div>")]
    found = re.search(r'value="([^"]*)"', block)
    return found.group(1) if found else None


def test_the_second_ask_of_a_form_is_filled_from_the_case(web: Web) -> None:
    files = mini_with(
        '<spiffworkflow:property name="assignee" value="owner" />',
        '<spiffworkflow:property name="formKey" value="mini_first" />',
    )
    web.engine.deploy(files, deployed_by="owner1")
    cs = actor("cs1", "customer_service")
    started = web.engine.start("mini", {"customer_name": "协和医院", "divisor": 2}, cs)
    first = web.open_task(started.business_number, "task_first")
    client = web.client("cs1")
    assert field_value(client.get(f"/tasks/{first.id}").text, "amount") in (None, "")
    web.engine.claim(first.id, cs)
    web.engine.complete(first.id, {"amount": 7}, cs)

    second = web.open_task(started.business_number, "task_second")
    supervisor = web.client("sup1")
    assert field_value(supervisor.get(f"/tasks/{second.id}").text, "amount") == "7"

    web.engine.claim(second.id, actor("sup1", "service_supervisor"))
    web.engine.save_draft(second.id, {"amount": 9}, actor("sup1", "service_supervisor"))
    assert field_value(supervisor.get(f"/tasks/{second.id}").text, "amount") == "9"
