"""Audit notes the engine's own commands have no place for (the reason for a reassignment)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import clock
from engine.accounts.users import Actor
from engine.errors import EngineError
from engine.store.models import Event, Task

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def record_reassignment_reason(engine: Engine, task_id: str, reason: str, actor: Actor) -> None:
    """Append the reason a manager gave for reassigning a task to the case's audit log."""
    if not reason.strip():
        raise EngineError("a reason is required")
    with engine.writer.begin() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise EngineError("no such task")
        session.add(
            Event(
                instance_id=task.instance_id,
                task_id=task.id,
                element_id=task.spec_id,
                actor=actor.username,
                action="task_reassign_reason",
                at=clock.now(),
                data={"reason": reason.strip(), "assignee": task.assignee},
            )
        )
