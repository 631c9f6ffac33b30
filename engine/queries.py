"""Read models for lists and pages: they read projections only, never a workflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.models import Event, ProcessInstance, Task
from engine.users import Actor


@dataclass(frozen=True)
class TaskRow:
    """One line of an inbox."""

    id: str
    name: str
    role: str | None
    assignee: str | None
    state: str
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    business_number: str
    process_name: str
    customer_name: str | None
    product: str | None
    priority: str | None
    instance_id: int


def _rows(session: Session, query: Any) -> list[TaskRow]:
    return [
        TaskRow(
            id=t.id,
            name=t.name,
            role=t.role,
            assignee=t.assignee,
            state=t.state,
            due_at=t.due_at,
            created_at=t.created_at,
            completed_at=t.completed_at,
            completed_by=t.completed_by,
            business_number=i.business_number,
            process_name=i.definition.name,
            customer_name=i.customer_name,
            product=i.product,
            priority=i.priority,
            instance_id=i.id,
        )
        for t, i in session.execute(query).all()
    ]


def _open_tasks() -> Any:
    return (
        select(Task, ProcessInstance)
        .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
        .where(Task.state == "open", ProcessInstance.status == "running")
    )


def assigned_to(session: Session, username: str, limit: int = 200) -> list[TaskRow]:
    """Return the open tasks assigned to a user, soonest due first."""
    query = _open_tasks().where(Task.assignee == username)
    return _rows(session, query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at).limit(limit))


def offered_to(session: Session, roles: Iterable[str], limit: int = 200) -> list[TaskRow]:
    """Return open, unclaimed tasks of the given roles, soonest due first."""
    role_list = sorted(roles)
    if not role_list:
        return []
    query = _open_tasks().where(Task.assignee.is_(None), Task.role.in_(role_list))
    return _rows(session, query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at).limit(limit))


def done_by(session: Session, username: str, limit: int = 50) -> list[TaskRow]:
    """Return tasks the user completed, newest first."""
    query = (
        select(Task, ProcessInstance)
        .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
        .where(Task.completed_by == username)
        .order_by(Task.completed_at.desc())
        .limit(limit)
    )
    return _rows(session, query)


def task_for(session: Session, task_id: str) -> Task:
    """Return a task row with its instance."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no such task")
    return task


def may_see_task(task: Task, actor: Actor) -> bool:
    """Tell whether the actor may open a task: it holds the role, is the assignee or did it."""
    return (
        (task.role is not None and task.role in actor.roles)
        or actor.username in (task.assignee, task.completed_by)
        or "admin" in actor.roles
    )


def history(session: Session, instance_id: int) -> list[Event]:
    """Return the audit events of an instance, oldest first."""
    return list(
        session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.at, Event.id))
    )
