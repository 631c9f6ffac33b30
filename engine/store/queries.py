"""Read models for lists and pages: they read projections only, never a workflow.

The inbox reads the ``task`` projection joined to the list fields of ``process_instance``,
selecting columns rather than mapped objects: an instance row carries its serialized
workflow and a definition row its whole source, neither of which a list may load.
Filtering, counting and paging all happen in SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from engine.accounts.users import Actor
from engine.errors import NotFound
from engine.store.models import (
    DONE_TASK,
    OPEN_TASK,
    Comment,
    ProcessDefinition,
    ProcessInstance,
    Task,
    User,
    UserRole,
)

#: The inbox tabs: assigned to me, my roles' open (claimable) tasks, done by me, and — for
#: those who hand out work — every open task.
TABS = ("mine", "offered", "done", "team")
PAGE_SIZES = (10, 25, 50, 100)
#: The most characters a search may have: longer text cannot match a business number or a name.
MAX_SEARCH = 100


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
    spec_id: str = ""
    process_key: str = ""
    due_basis: dict[str, Any] | None = None

    def is_overdue(self, now: datetime) -> bool:
        """Tell whether the task is open past its due time (or was completed after it)."""
        if self.due_at is None:
            return False
        if self.state == "completed" and self.completed_at is not None:
            return self.completed_at > self.due_at
        return self.state == "open" and self.due_at < now


@dataclass(frozen=True)
class InboxQuery:
    """What one inbox request asks for: a tab, its filters, a sort direction and a page."""

    tab: str = "mine"
    process: str | None = None
    step: str | None = None
    priority: str | None = None
    overdue: bool = False
    search: str = ""
    #: "asc" or "desc" on the tab's time column: the due time (open tabs) or the completion time (done).
    order: str = ""
    page: int = 1
    per_page: int = 25

    def normalized(self) -> InboxQuery:
        """Return the query with every value in range (unknown values fall back to defaults)."""
        tab = self.tab if self.tab in TABS else "mine"
        default_order = "desc" if tab == "done" else "asc"
        return replace(
            self,
            tab=tab,
            process=self.process or None,
            step=self.step or None,
            priority=self.priority or None,
            search=" ".join(self.search.split())[:MAX_SEARCH],
            order=self.order if self.order in ("asc", "desc") else default_order,
            page=max(1, self.page),
            per_page=self.per_page if self.per_page in PAGE_SIZES else 25,
        )

    @property
    def filtered(self) -> bool:
        """Tell whether any filter or search narrows the tab."""
        return bool(self.process or self.step or self.priority or self.overdue or self.search)


@dataclass(frozen=True)
class InboxPage:
    """One page of an inbox tab."""

    rows: list[TaskRow]
    total: int
    query: InboxQuery

    @property
    def pages(self) -> int:
        """The number of pages the matching rows fill (at least one)."""
        return max(1, -(-self.total // self.query.per_page))


@dataclass(frozen=True)
class TabCount:
    """How many tasks a tab holds and how many of them are late."""

    total: int
    overdue: int = 0


_ROW_COLUMNS = (
    Task.id,
    Task.name,
    Task.role,
    Task.assignee,
    Task.state,
    Task.due_at,
    Task.created_at,
    Task.completed_at,
    Task.completed_by,
    ProcessInstance.business_number,
    ProcessDefinition.name,
    ProcessInstance.customer_name,
    ProcessInstance.product,
    ProcessInstance.priority,
    ProcessInstance.id,
    Task.spec_id,
    ProcessInstance.process_key,
    Task.due_basis,
)


def _row_select() -> Select[*tuple[Any, ...]]:
    return (
        select(*_ROW_COLUMNS)
        .select_from(Task)
        .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
    )


def _to_rows(session: Session, query: Select[*tuple[Any, ...]]) -> list[TaskRow]:
    return [TaskRow(*row) for row in session.execute(query).all()]


def _tab_condition(tab: str, actor: Actor, sees_all: bool) -> ColumnElement[bool]:
    """The task rows of one tab for one user, on ``task`` columns only (a tab it may not see has none)."""
    if tab == "mine":
        return and_(OPEN_TASK, Task.assignee == actor.username)
    if tab == "offered":
        roles = sorted(actor.roles)
        if not roles:
            return false()
        return and_(OPEN_TASK, Task.assignee.is_(None), Task.role.in_(roles))
    if tab == "team":
        return OPEN_TASK if sees_all else false()
    if tab == "done":
        return and_(Task.completed_by == actor.username, DONE_TASK)
    raise ValueError(f"unknown inbox tab {tab!r}")


def _case_filters(session: Session, query: InboxQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.process:
        conditions.append(ProcessInstance.process_key == query.process)
    if query.priority:
        conditions.append(ProcessInstance.priority == query.priority)
    if query.search:
        # SQLite's LIKE ignores case already; lower() on both sides would only cost time.
        sqlite = session.get_bind().dialect.name == "sqlite"
        conditions.append(
            or_(
                *(
                    column.contains(query.search, autoescape=True)
                    if sqlite
                    else column.icontains(query.search, autoescape=True)
                    for column in (ProcessInstance.business_number, ProcessInstance.customer_name)
                )
            )
        )
    return conditions


#: The states of a case whose open tasks wait for nobody (the case must be resumed or retried first).
#: Completed and terminated cases have no open task: ending a case cancels them in the projection.
_HALTED = ("scheduled", "suspended", "error")


def _of_cases(session: Session, running: bool, conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Keep the tasks of running cases (for open tasks) that match the case-level ``conditions``.

    No wide instance row is read for it: without conditions, the few halted cases are left out
    (a tiny list from the status index); with conditions, the matching cases come from the
    ``ix_instance_list`` index and tasks are checked against them. SQLite would rather walk
    that list and look each task up; ``+ 0`` stops it, so it keeps reading the tab's covering
    task index (the usual SQLite way of turning an index off for one term).
    """
    if not conditions:
        if not running:
            return true()
        halted = select(ProcessInstance.id).where(ProcessInstance.status.in_(_HALTED))
        return Task.instance_id.not_in(halted)
    cases = select(ProcessInstance.id).where(*conditions)
    if running:
        cases = cases.where(ProcessInstance.status == "running")
    if session.get_bind().dialect.name == "sqlite":
        return (Task.instance_id + literal_column("0")).in_(cases)
    return Task.instance_id.in_(cases)


def _where(
    session: Session, tab: str, actor: Actor, sees_all: bool, query: InboxQuery | None, now: datetime
) -> list[ColumnElement[bool]]:
    """The conditions selecting a tab's tasks that match a query's filters."""
    conditions = [_tab_condition(tab, actor, sees_all)]
    if query is not None and query.step:
        conditions.append(Task.spec_id == query.step)
    if query is not None and query.overdue:
        if tab == "done":
            conditions.append(Task.completed_at > Task.due_at)
        else:
            conditions.append(Task.due_at < now)
    # Tasks of a suspended, failed or ended case stay in the projection but wait for nobody.
    conditions.append(_of_cases(session, tab != "done", _case_filters(session, query) if query else []))
    return conditions


def _order(query: InboxQuery) -> list[Any]:
    column = Task.completed_at if query.tab == "done" else Task.due_at
    direction = column.desc() if query.order == "desc" else column.asc()
    # Tasks without a due time come last either way; ties keep a stable order for paging.
    return [direction.nulls_last(), Task.created_at, Task.id]


def _rows_by_id(session: Session, ids: list[str]) -> list[TaskRow]:
    """The inbox rows of these tasks, in this order (a page: a few dozen instance rows read)."""
    if not ids:
        return []
    found = {row.id: row for row in _to_rows(session, _row_select().where(Task.id.in_(ids)))}
    return [found[task_id] for task_id in ids if task_id in found]


def inbox(
    session: Session, actor: Actor, query: InboxQuery, now: datetime, sees_all: bool = False
) -> InboxPage:
    """Return one page of an inbox tab with the number of rows matching its filters."""
    query = query.normalized()
    where = _where(session, query.tab, actor, sees_all, query, now)
    total = int(session.scalar(select(func.count()).select_from(Task).where(*where)) or 0)
    pages = max(1, -(-total // query.per_page))
    if query.page > pages:
        query = replace(query, page=pages)
    # Page the task ids first, then read the few rows shown: a join before LIMIT would read
    # the wide instance row of every matching task.
    ids = list(
        session.scalars(
            select(Task.id)
            .where(*where)
            .order_by(*_order(query))
            .limit(query.per_page)
            .offset((query.page - 1) * query.per_page)
        )
    )
    return InboxPage(_rows_by_id(session, ids), total, query)


def inbox_counts(
    session: Session, actor: Actor, now: datetime, sees_all: bool = False
) -> dict[str, TabCount]:
    """Return how many tasks each tab holds, and how many are late (open past due, or done late)."""
    counts: dict[str, TabCount] = {}
    for tab in TABS:
        if tab == "team" and not sees_all:
            continue
        late = (
            Task.completed_at > Task.due_at
            if tab == "done"
            else and_(Task.due_at.is_not(None), Task.due_at < now)
        )
        total, overdue = session.execute(
            select(func.count(), func.count(case((late, 1))))
            .select_from(Task)
            .where(*_where(session, tab, actor, sees_all, None, now))
        ).one()
        counts[tab] = TabCount(int(total or 0), int(overdue or 0))
    return counts


def new_arrivals(session: Session, actor: Actor, since: datetime) -> int:
    """Count the tasks that reached the user's open tabs after ``since`` (created, or assigned to it)."""
    mine = Task.assignee == actor.username
    arrived = or_(Task.created_at > since, and_(mine, Task.claimed_at > since))
    reach = or_(_tab_condition("mine", actor, False), _tab_condition("offered", actor, False))
    total = session.scalar(
        select(func.count()).select_from(Task).where(reach, arrived, _of_cases(session, True, []))
    )
    return int(total or 0)


def assigned_to(session: Session, username: str, limit: int = 200) -> list[TaskRow]:
    """Return the open tasks assigned to a user, soonest due first."""
    query = InboxQuery(tab="mine", per_page=limit)
    return _listing(session, Actor(username, frozenset()), query)


def offered_to(session: Session, roles: Iterable[str], limit: int = 200) -> list[TaskRow]:
    """Return open, unclaimed tasks of the given roles, soonest due first."""
    query = InboxQuery(tab="offered", per_page=limit)
    return _listing(session, Actor("", frozenset(roles)), query)


def done_by(session: Session, username: str, limit: int = 50) -> list[TaskRow]:
    """Return tasks the user completed, newest first."""
    query = InboxQuery(tab="done", per_page=limit)
    return _listing(session, Actor(username, frozenset()), query)


def _listing(session: Session, actor: Actor, query: InboxQuery) -> list[TaskRow]:
    query = replace(query, order="desc" if query.tab == "done" else "asc")
    where = _where(session, query.tab, actor, False, None, datetime.now(UTC))
    return _to_rows(session, _row_select().where(*where).order_by(*_order(query)).limit(query.per_page))


# --- one task, one case --------------------------------------------------------------------


def task_for(session: Session, task_id: str) -> Task:
    """Return a task row with its instance."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no such task")
    return task


def may_see_task(task: Task, actor: Actor, overseers: Collection[str] = ()) -> bool:
    """Tell whether the actor may open a task.

    It may when it holds the task's role, is its assignee, did it, or holds a role that
    oversees all work (``overseers``: those who assign tasks to others, and superusers).
    """
    return (
        (task.role is not None and task.role in actor.roles)
        or actor.username in (task.assignee, task.completed_by)
        or bool(actor.roles & set(overseers))
    )


def may_see_case(session: Session, instance_id: int, actor: Actor, overseers: Collection[str] = ()) -> bool:
    """Tell whether the actor may see a case: it may see one of its tasks, or started it."""
    if actor.roles & set(overseers):
        return session.get(ProcessInstance, instance_id) is not None
    roles = sorted(actor.roles)
    task_of_mine = exists().where(
        Task.instance_id == instance_id,
        or_(
            Task.role.in_(roles) if roles else false(),
            Task.assignee == actor.username,
            Task.completed_by == actor.username,
        ),
    )
    started = exists().where(ProcessInstance.id == instance_id, ProcessInstance.started_by == actor.username)
    return bool(session.scalar(select(or_(task_of_mine, started))))


@dataclass(frozen=True)
class CaseTask:
    """A human task of a case, as its history and diagram show it."""

    id: str
    spec_id: str
    name: str
    state: str
    form_key: str | None
    role: str | None
    assignee: str | None
    completed_by: str | None
    created_at: datetime
    completed_at: datetime | None
    due_at: datetime | None = None


def case_tasks(session: Session, instance_id: int) -> list[CaseTask]:
    """Return the human tasks of a case, oldest first."""
    rows = session.execute(
        select(
            Task.id,
            Task.spec_id,
            Task.name,
            Task.state,
            Task.form_key,
            Task.role,
            Task.assignee,
            Task.completed_by,
            Task.created_at,
            Task.completed_at,
        )
        .where(Task.instance_id == instance_id)
        .order_by(Task.created_at, Task.id)
    ).all()
    return [CaseTask(**row._asdict()) for row in rows]


def comment(session: Session, comment_id: int) -> Comment:
    """Return one comment."""
    found = session.get(Comment, comment_id)
    if found is None:
        raise NotFound("no such comment")
    return found


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Return the display name of each named user that exists."""
    names = sorted({name for name in usernames if name})
    if not names:
        return {}
    return dict(
        session.execute(select(User.username, User.display_name).where(User.username.in_(names))).all()
    )


def users_holding(session: Session, role: str) -> list[tuple[str, str]]:
    """Return (user name, display name) of the active users holding a role, by user name."""
    return [
        (username, display_name)
        for username, display_name in session.execute(
            select(User.username, User.display_name)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.active.is_(True))
            .order_by(User.username)
        ).all()
    ]


# --- deployed definitions, for labels --------------------------------------------------------


def definitions_version(session: Session) -> int:
    """Return a number that changes whenever a definition is deployed (the newest id)."""
    return int(session.scalar(select(func.max(ProcessDefinition.id))) or 0)


@dataclass(frozen=True)
class DefinitionLabels:
    """What lists need from a deployed version to name things: its name, elements and forms."""

    id: int
    process_key: str
    version: int
    name: str
    meta: dict[str, Any]


def definition_labels(session: Session) -> list[DefinitionLabels]:
    """Return every deployed version's names and metadata (not its source), oldest first."""
    rows = session.execute(
        select(
            ProcessDefinition.id,
            ProcessDefinition.process_key,
            ProcessDefinition.version,
            ProcessDefinition.name,
            ProcessDefinition.meta,
        ).order_by(ProcessDefinition.process_key, ProcessDefinition.version)
    ).all()
    return [DefinitionLabels(*row) for row in rows]


def definition_files(session: Session, definition_id: int) -> dict[str, str]:
    """Return the source files of a deployed version."""
    files = session.scalar(select(ProcessDefinition.files).where(ProcessDefinition.id == definition_id))
    if files is None:
        raise NotFound("no such process version")
    return dict(files)
