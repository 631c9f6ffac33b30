"""A case burning CPU in a script does not hold up other users working over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from engine.models import Event, ProcessInstance
from engine.users import Actor
from tests.security.diagrams import attack_diagram

BURNER = Actor("sup1", frozenset({"service_supervisor"}))


@pytest.mark.timeout(60)
def test_another_user_completes_a_task_over_http_while_a_case_burns_cpu(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, "电话指导")
    web.engine.deploy({"burn.bpmn": attack_diagram("script", "while True:\n    pass")}, deployed_by="owner1")
    burning: dict[str, int] = {}
    burner = threading.Thread(
        target=lambda: burning.update(id=web.engine.start("attack_process", {}, BURNER).id), daemon=True
    )
    burner.start()
    time.sleep(0.2)  # the burning case holds its script by now
    began = time.monotonic()
    response = cs1.post(f"/tasks/{task_id}", data={"action": "complete", "solved_by_phone": "no"})
    took = time.monotonic() - began
    burner.join(timeout=30)
    assert response.status_code == 302
    assert web.open_task(number, "task_dispatch")  # the completion went through
    assert took < 2.0, f"completing took {took:.2f} s"
    with web.engine.sessions() as session:
        burned = session.get(ProcessInstance, burning["id"])
        assert burned is not None
        assert (burned.status, burned.error_element) == ("error", "attack")
        # The script's own limit or its command's (both 1 s by default), whichever comes first.
        assert "ran longer than the limit of 1.0 s" in (burned.error_message or "")


def test_a_start_whose_script_leaves_a_value_that_cannot_be_stored_is_an_error_not_a_500(web) -> None:
    web.engine.deploy({"tz.bpmn": attack_diagram("script", "tz = now().tzinfo")}, deployed_by="owner1")
    sup1 = web.client("sup1")
    response = sup1.post("/start/attack_process", data={})
    assert response.status_code == 302
    (message,) = web.flashes(sup1.get(response.location).text)
    assert "出错" in message
    with web.engine.sessions() as session:
        case = session.scalar(select(ProcessInstance).where(ProcessInstance.process_key == "attack_process"))
        assert case is not None
        assert (case.status, case.error_element) == ("error", "attack")
        assert "'tz'" in (case.error_message or "")
        actions = list(
            session.scalars(select(Event.action).where(Event.instance_id == case.id).order_by(Event.id))
        )
    assert actions[0] == "instance_started" and "instance_error" in actions
