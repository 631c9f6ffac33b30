"""The read model of one task's page: the task, its case's tasks, history, notes and the people named.

A page built from the separate list queries costs ten statements and, with the definition row
eager-joined to every task, most of a megabyte. Here it costs three, after the session's user:
the case's tasks (with the case and the definition's small columns, and the newest definition
id for label caches), its audit events, comments and files in one ``UNION ALL``, and the users
the page names or may assign the task to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, joinedload

from engine.store.models import (
    Attachment,
    Comment,
    Event,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Task,
    User,
    UserRole,
)
from engine.store.queries import CaseTask


@dataclass(frozen=True)
class TaskCase:
    """A task with every task of its case, oldest first, and the newest deployed definition id."""

    task: Task
    case_tasks: list[CaseTask]
    definitions_version: int
    #: The case's facts (``ProcessInstance.facts``): chosen case data and the rules decisions chose.
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseRecord:
    """What happened on a case: its audit events, comments and files (their content is not read).

    ``timers`` are the timers the case waits for now (element id and due time): its running limits.
    """

    events: list[Event]
    comments: list[Comment]
    attachments: list[Attachment]
    timers: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class People:
    """Display names of the users a page names, and who may be assigned the task."""

    names: dict[str, str]
    assignable: list[tuple[str, str]]


def task_case(session: Session, task_id: str) -> TaskCase | None:
    """Return a task with its case (without its serialized state) and the case's other tasks."""
    of_case = select(Task.instance_id).where(Task.id == task_id).scalar_subquery()
    newest = select(func.max(ProcessDefinition.id)).scalar_subquery()
    # The facts travel once, on the wanted task's row, not once per task of the case.
    facts = type_coerce(
        case(
            (
                Task.id == task_id,
                select(ProcessInstance.facts)
                .where(ProcessInstance.id == Task.instance_id)
                .correlate(Task)
                .scalar_subquery(),
            ),
            else_=null(),
        ),
        JSON,
    )
    rows = session.execute(
        select(Task, newest, facts)
        .options(
            joinedload(Task.instance)
            .defer(ProcessInstance.state)
            .joinedload(ProcessInstance.definition)
            .defer(ProcessDefinition.meta)
        )
        .where(Task.instance_id == of_case)
        .order_by(Task.created_at, Task.id)
    ).all()
    found = next(((row, found_facts) for row, _newest, found_facts in rows if row.id == task_id), None)
    if found is None:
        return None
    return TaskCase(
        found[0],
        [_case_task(row) for row, _newest, _facts in rows],
        int(rows[0][1] or 0),
        found[1] if isinstance(found[1], dict) else {},
    )


def _case_task(row: Task) -> CaseTask:
    return CaseTask(
        id=row.id,
        spec_id=row.spec_id,
        name=row.name,
        state=row.state,
        form_key=row.form_key,
        role=row.role,
        assignee=row.assignee,
        completed_by=row.completed_by,
        created_at=row.created_at,
        completed_at=row.completed_at,
        due_at=row.due_at,
    )


def case_record(session: Session, instance_id: int) -> CaseRecord:
    """Return the audit events, comments and files of a case, each oldest first, in one statement."""
    events = select(
        literal("event").label("kind"),
        Event.id,
        Event.task_id,
        Event.actor.label("person"),
        Event.at.label("at"),
        Event.action.label("text"),
        Event.element_id,
        Event.data,
        cast(null(), String).label("content_type"),
        cast(null(), Integer).label("size"),
        cast(null(), String).label("sha256"),
    ).where(Event.instance_id == instance_id)
    comments = select(
        literal("comment"),
        Comment.id,
        Comment.task_id,
        Comment.author,
        Comment.created_at,
        Comment.body,
        cast(null(), String),
        cast(null(), JSON),
        cast(null(), String),
        cast(null(), Integer),
        cast(null(), String),
    ).where(Comment.instance_id == instance_id)
    files = select(
        literal("attachment"),
        Attachment.id,
        Attachment.task_id,
        Attachment.uploaded_by,
        Attachment.uploaded_at,
        Attachment.filename,
        cast(null(), String),
        cast(null(), JSON),
        Attachment.content_type,
        Attachment.size,
        Attachment.sha256,
    ).where(Attachment.instance_id == instance_id)
    record = union_all(events, comments, files, _waiting_timers(instance_id)).subquery()
    rows = session.execute(select(record).order_by(record.c.at, record.c.id)).all()
    return CaseRecord(
        [_event(instance_id, row) for row in rows if row.kind == "event"],
        [_comment(instance_id, row) for row in rows if row.kind == "comment"],
        [_attachment(instance_id, row) for row in rows if row.kind == "attachment"],
        sorted(((row.element_id, row.at) for row in rows if row.kind == "timer"), key=lambda t: t[1]),
    )


def _waiting_timers(instance_id: int) -> Any:
    """The timers the case waits for, in the columns of ``case_record``'s union."""
    return select(
        literal("timer"),
        Job.id,
        Job.task_id,
        cast(null(), String),
        Job.due_at,
        Job.kind,
        Job.element_id,
        cast(null(), JSON),
        cast(null(), String),
        cast(null(), Integer),
        cast(null(), String),
    ).where(Job.instance_id == instance_id, Job.done_at.is_(None), Job.kind == "timer")


def _event(instance_id: int, row: Any) -> Event:
    return Event(
        id=row.id,
        instance_id=instance_id,
        task_id=row.task_id,
        element_id=row.element_id,
        actor=row.person,
        action=row.text,
        at=row.at,
        data=row.data,
    )


def _comment(instance_id: int, row: Any) -> Comment:
    return Comment(
        id=row.id,
        instance_id=instance_id,
        task_id=row.task_id,
        author=row.person,
        body=row.text,
        created_at=row.at,
    )


def _attachment(instance_id: int, row: Any) -> Attachment:
    return Attachment(
        id=row.id,
        instance_id=instance_id,
        task_id=row.task_id,
        filename=row.text,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_by=row.person,
        uploaded_at=row.at,
    )


def people(session: Session, usernames: Iterable[str | None], assign_role: str | None = None) -> People:
    """Return the display names of ``usernames`` and, given a role, the active users holding it."""
    named = sorted({name for name in usernames if name})
    holds = (
        and_(User.active.is_(True), exists().where(UserRole.user_id == User.id, UserRole.role == assign_role))
        if assign_role
        else None
    )
    if not named and holds is None:
        return People({}, [])
    wanted: list[ColumnElement[bool]] = [User.username.in_(named)] if named else []
    if holds is not None:
        wanted.append(holds)
    rows = session.execute(
        select(
            User.username, User.display_name, case((holds, 1), else_=0) if holds is not None else literal(0)
        )
        .where(or_(*wanted))
        .order_by(User.username)
    ).all()
    return People(
        {username: display for username, display, _holds in rows if username in set(named)},
        [(username, display) for username, display, holds_role in rows if holds_role],
    )
