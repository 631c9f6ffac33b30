"""Starting a case at a message start event from outside (the customer portal's way in).

The case starts at the start event catching the message, never at the plain one; a message no
start event catches, or an actor whose roles may not start the process, changes nothing; the
caller's own rows are written in the case's transaction, so a failure there leaves no case.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import EngineError, PermissionDenied
from engine.runtime import Engine
from engine.store.models import Event, ProcessInstance, Task
from tests.conftest import actor

REQUEST = {
    "channel": "web",
    "customer_name": "华东人民医院",
    "customer_phone": "021-5555-0101",
    "product_model": "XR-200",
    "fault_description": "屏幕闪烁",
}


def count(engine: Engine) -> int:
    with engine.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def test_a_message_start_opens_only_the_step_after_the_catching_event(deployed: Engine) -> None:
    seen: list[str] = []

    def note(session: Session, case: ProcessInstance) -> None:
        seen.append(case.business_number)
        session.add(Event(instance_id=case.id, actor="test", action="noted_alongside", at=case.started_at))

    started = deployed.start_by_message(
        "repair_service",
        "portal_repair_request",
        REQUEST,
        actor("portal", "customer_service"),
        alongside=note,
    )
    assert seen == [started.business_number]
    with deployed.sessions() as session:
        open_steps = session.scalars(
            select(Task.spec_id).where(Task.instance_id == started.id, Task.state == "open")
        ).all()
        actions = session.scalars(select(Event.action).where(Event.instance_id == started.id)).all()
    assert open_steps == ["task_register_portal"]
    assert "instance_started" in actions and "noted_alongside" in actions


def test_a_refused_message_start_changes_nothing(deployed: Engine) -> None:
    before = count(deployed)
    with pytest.raises(EngineError):
        deployed.start_by_message(
            "repair_service", "no_such_message", REQUEST, actor("cs1", "customer_service")
        )
    with pytest.raises(PermissionDenied):
        deployed.start_by_message(
            "repair_service", "portal_repair_request", REQUEST, actor("tech1", "technician")
        )

    def fail(session: Session, case: ProcessInstance) -> None:
        raise RuntimeError("the caller's row could not be written")

    with pytest.raises(RuntimeError):
        deployed.start_by_message(
            "repair_service",
            "portal_repair_request",
            REQUEST,
            actor("cs1", "customer_service"),
            alongside=fail,
        )
    assert count(deployed) == before
