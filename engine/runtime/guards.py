"""The checks a command makes before it changes anything: each raises the refusal the user sees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.users import Actor
from engine.errors import (
    DutiesNotSeparated,
    InstanceNotActive,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from engine.runtime.config import EngineConfig
from engine.runtime.statuses import ACTIVE
from engine.store.models import DONE_TASK, ProcessInstance, Task


def check_open(row: Task) -> None:
    """Refuse a task that was completed or cancelled meanwhile."""
    if row.state == "completed":
        when = row.completed_at.isoformat(timespec="minutes") if row.completed_at else ""
        raise TaskAlreadyCompleted(
            f"this task was already completed by {row.completed_by} at {when}",
            completed_by=row.completed_by,
            completed_at=row.completed_at,
        )
    if row.state != "open":
        raise TaskNotAvailable("this task was cancelled and needs no more work")


def require_active(instance: ProcessInstance) -> None:
    """Refuse work on a case that is not running."""
    if instance.status != ACTIVE:
        raise InstanceNotActive(
            f"the case is {instance.status}; nothing can be done on it now", status=instance.status
        )


def require_role(row: Task, actor: Actor) -> None:
    """Refuse an actor who does not hold the task's role."""
    if row.role and row.role not in actor.roles:
        raise PermissionDenied(f"this task is for the role '{row.role}'")


def require_can_work(row: Task, actor: Actor) -> None:
    """Refuse an actor who may not work on the task: wrong role, or someone else holds it."""
    require_role(row, actor)
    if row.assignee and row.assignee != actor.username:
        raise TaskNotAvailable(f"the task is assigned to {row.assignee}", assignee=row.assignee)


def require_manager(config: EngineConfig, actor: Actor) -> None:
    """Refuse a command only managers (or the system itself) may give."""
    if not (config.manager_roles & actor.roles) and actor.username != "system":
        raise PermissionDenied("only a manager can do this")


def require_assigner(config: EngineConfig, actor: Actor, message: str) -> None:
    """Refuse a command only those who hand out work may give."""
    if not (config.assigner_roles & actor.roles):
        raise PermissionDenied(message)


def require_separate_duties(session: Session, meta: Mapping[str, Any], row: Task, actor: Actor) -> None:
    """Refuse an actor who completed a step of the case this task must be kept apart from."""
    others = meta.get("tasks", {}).get(row.spec_id, {}).get("separate_from") or []
    if not others:
        return
    done = session.scalar(
        select(Task.name)
        .where(
            Task.instance_id == row.instance_id,
            Task.spec_id.in_(others),
            DONE_TASK,
            Task.completed_by == actor.username,
        )
        .limit(1)
    )
    if done is not None:
        raise DutiesNotSeparated(
            f"{actor.username} did '{done}' on this case; another person must do this step", step=done
        )
