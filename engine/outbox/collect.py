"""Events become notification rows in the transaction of the command that caused them.

``install`` listens on a session factory: every audit event, SLA breach and comment a
transaction flushes is noted, and just before it commits the noted ones are turned into
notifications for the people concerned, on the channels each chose. A command that rolls
back leaves no notification behind; a committed one cannot lose its notifications.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import exists, literal, select
from sqlalchemy.orm import Session, lazyload, sessionmaker

from engine import clock
from engine.calendar import WorkingCalendar
from engine.outbox.models import Notification
from engine.outbox.preferences import Choice, audience, not_before
from engine.store.models import OPEN_TASK, Comment, Event, ProcessInstance, SlaBreach, Task

_NOTED = "afterflow_outbox_noted"
#: The tasks a transaction added, by id: held here, since a session forgets rows no one refers to.
_NEW_TASKS = "afterflow_outbox_new_tasks"
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})")


@dataclass(frozen=True)
class DueSoonShares:
    """The share of a task's time after which it is "due soon": per process key, else the default."""

    default: float | None
    by_process: Mapping[str, float] = field(default_factory=dict)

    def of(self, process_key: str | None) -> float | None:
        """The share for tasks of ``process_key`` (None: nobody is told)."""
        return self.by_process.get(process_key or "", self.default)


@dataclass(frozen=True)
class OutboxConfig:
    """What the outbox needs from the product: who hears of breaches, when a task is due soon."""

    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    #: Roles told when a case misses a service-level limit.
    breach_roles: frozenset[str] = frozenset()
    #: A task is "due soon" once this share of the time between its start and its due time passed
    #: (read once per scan; one share for every process, or per process; None: nobody is told).
    due_soon_share: Callable[[Session], float | DueSoonShares | None] = lambda session: 0.8


@dataclass(frozen=True)
class Draft:
    """A notification to write: its event, its kind, whom it concerns and what the wording needs."""

    event_key: str
    kind: str
    recipients: tuple[str, ...]
    instance_id: int | None
    params: dict[str, Any]
    actor: str | None = None


def install(factory: sessionmaker[Session], config: OutboxConfig) -> None:
    """Make every transaction of ``factory`` write the notifications of what it did."""

    def noted(session: Session, _context: Any) -> None:
        found = [o for o in session.new if isinstance(o, Event | SlaBreach | Comment)]
        if found:
            session.info.setdefault(_NOTED, []).extend(found)
        tasks = {o.id: o for o in session.new if isinstance(o, Task)}
        if tasks:
            session.info.setdefault(_NEW_TASKS, {}).update(tasks)

    def before_commit(session: Session) -> None:
        session.flush()  # what the command added last is noted (and has its id) too
        pending = session.info.pop(_NOTED, None)
        if pending:
            write(session, drafts_of(session, pending), config)
        session.info.pop(_NEW_TASKS, None)

    def forget(session: Session, *_args: Any) -> None:
        session.info.pop(_NOTED, None)
        session.info.pop(_NEW_TASKS, None)

    sa_event.listen(factory, "after_flush", noted)
    sa_event.listen(factory, "before_commit", before_commit)
    sa_event.listen(factory, "after_rollback", forget)


def drafts_of(session: Session, noted: Iterable[Any]) -> list[Draft]:
    """The notifications a transaction's new events, breaches and comments call for."""
    items = list(noted)
    breached = {b.instance_id for b in items if isinstance(b, SlaBreach)}
    drafts: list[Draft] = []
    cases: dict[int, ProcessInstance | None] = {}

    def case(instance_id: int | None) -> dict[str, Any]:
        if instance_id is None:
            return {}
        if instance_id not in cases:
            cases[instance_id] = session.get(ProcessInstance, instance_id)
        row = cases[instance_id]
        if row is None:
            return {}
        return {
            "instance_id": row.id,
            "business_number": row.business_number,
            "process_key": row.process_key,
            "customer": row.customer_name,
        }

    for item in items:
        if isinstance(item, Event):
            drafts.extend(_from_event(session, item, case(item.instance_id), item.instance_id in breached))
        elif isinstance(item, SlaBreach):
            drafts.append(
                Draft(
                    f"breach:{item.id}",
                    "sla_breached",
                    (),  # the breach roles, resolved by ``write``
                    item.instance_id,
                    {**case(item.instance_id), "sla": item.sla, "due_at": item.due_at.isoformat()},
                )
            )
        elif isinstance(item, Comment):
            # "@sup1." ends a sentence: the dot is not part of the name.
            found = (m.rstrip(".-") for m in _MENTION.findall(item.body))
            names = tuple(dict.fromkeys(m for m in found if m and m != item.author))
            if names:
                drafts.append(
                    Draft(
                        f"comment:{item.id}",
                        "mentioned",
                        names,
                        item.instance_id,
                        {**case(item.instance_id), "task_id": item.task_id, "excerpt": item.body[:200]},
                        item.author,
                    )
                )
    return drafts


def _task(session: Session, task_id: str | None) -> Task | None:
    """A task's row: one this transaction added is at hand, another is read (or found in the session)."""
    if task_id is None:
        return None
    added: dict[str, Task] = session.info.get(_NEW_TASKS, {})
    return added.get(task_id) or session.get(Task, task_id, options=[_WITHOUT_CASE])


#: A task's row is read without its case's (the case is in the session already, and its state is wide).
_WITHOUT_CASE = lazyload(Task.instance)


def _from_event(session: Session, event: Event, case: dict[str, Any], breached: bool) -> list[Draft]:
    data = event.data or {}
    if event.action == "task_created":
        task = _task(session, event.task_id)
        params = {**case, "task_id": event.task_id, "task": task.name if task else event.element_id}
        params["due_at"], params["role"] = data.get("due_at"), data.get("role")
        # Whoever moved the case on knows what they opened (a timer's "system" is nobody).
        by = event.actor if event.actor and event.actor != "system" else None
        if data.get("assignee"):
            kind = "escalation" if breached else "task_assigned"
            return [Draft(f"event:{event.id}", kind, (data["assignee"],), event.instance_id, params, by)]
        if data.get("role"):
            kind = "escalation" if breached else "task_offered"
            # "@role:" is resolved to the role's holders by ``write``.
            return [
                Draft(f"event:{event.id}", kind, ("@role:" + data["role"],), event.instance_id, params, by)
            ]
        return []
    if event.action == "task_assigned" and data.get("assignee") and data["assignee"] != event.actor:
        task = _task(session, event.task_id)
        params = {**case, "task_id": event.task_id, "task": task.name if task else event.element_id}
        params["due_at"] = task.due_at.isoformat() if task and task.due_at else None
        return [
            Draft(
                f"event:{event.id}",
                "task_assigned",
                (data["assignee"],),
                event.instance_id,
                params,
                event.actor,
            )
        ]
    if event.action == "instance_completed" and event.instance_id is not None:
        instance = session.get(ProcessInstance, event.instance_id)
        if instance is not None and instance.started_by:
            return [
                Draft(f"event:{event.id}", "case_finished", (instance.started_by,), event.instance_id, case)
            ]
    return []


def write(session: Session, drafts: list[Draft], config: OutboxConfig) -> int:
    """Add the rows of ``drafts``: one per recipient and chosen channel; return how many.

    Each draft's key is new (an event, breach or comment of this transaction, or a task the
    due-soon scan found untold), so nothing is looked up but the recipients and their choices.
    """
    if not drafts:
        return 0
    named: set[str] = set()
    roles: set[str] = set()
    for draft in drafts:
        for name in draft.recipients:
            if name.startswith("@role:"):
                roles.add(name[len("@role:") :])
            else:
                named.add(name)
        if draft.kind == "sla_breached":
            roles |= config.breach_roles
    choices, holders = audience(session, named, roles)
    now = clock.now()
    added = 0
    for draft in drafts:
        names: list[str] = []
        for name in draft.recipients:
            names.extend(holders.get(name[len("@role:") :], []) if name.startswith("@role:") else [name])
        if draft.kind == "sla_breached":
            names.extend(n for role in sorted(config.breach_roles) for n in holders.get(role, []))
        for name in dict.fromkeys(names):
            choice = choices.get(name)
            if choice is None or name == draft.actor:
                continue
            for channel in choice.channels_for(draft.kind):
                session.add(_row(draft, name, channel, choice, now, config.calendar))
                added += 1
    return added


def _row(
    draft: Draft, name: str, channel: str, choice: Choice, now: datetime, calendar: WorkingCalendar
) -> Notification:
    inapp = channel == "inapp"
    return Notification(
        event_key=draft.event_key,
        kind=draft.kind,
        recipient=name,
        medium=channel,
        instance_id=draft.instance_id,
        params={**draft.params, **({"actor": draft.actor} if draft.actor else {})},
        state="delivered" if inapp else "pending",
        attempts=0,
        next_attempt_at=not_before(choice, channel, now, calendar),
        delivered_at=now if inapp else None,
        created_at=now,
    )


def scan_due_soon(factory: sessionmaker[Session], config: OutboxConfig, limit: int = 200) -> int:
    """Tell the people of open tasks that passed their share of the time to their due time; once each."""
    now = clock.now()
    with factory.begin() as session:
        found = config.due_soon_share(session)
        shares = found if isinstance(found, DueSoonShares) else DueSoonShares(found)
        if shares.default is None and not shares.by_process:
            return 0
        candidates = _untold_open_tasks(session, now, limit * 5)
        drafts: list[Draft] = []
        for task in candidates:
            key = f"due_soon:{task.id}"
            span: timedelta = task.due_at - task.created_at
            share = shares.of(task.process_key)
            if share is None or task.created_at + span * share > now:
                continue
            params = {
                "instance_id": task.instance_id,
                "business_number": task.business_number,
                "process_key": task.process_key,
                "customer": task.customer_name,
                "task_id": task.id,
                "task": task.name,
                "due_at": task.due_at.isoformat(),
            }
            who = (task.assignee,) if task.assignee else ("@role:" + (task.role or ""),)
            drafts.append(Draft(key, "due_soon", who, task.instance_id, params))
            # A marker: the task was looked at, even when nobody wants to hear of it.
            session.add(_marker(key, task.instance_id, now))
            if len(drafts) >= limit:
                break
        return write(session, drafts, config)


def _untold_open_tasks(session: Session, now: datetime, limit: int) -> list[Any]:
    """Open tasks with a due time still ahead that no due-soon notice was written for, soonest first."""
    told = exists().where(Notification.event_key == literal("due_soon:") + Task.id)
    return list(
        session.execute(
            select(
                Task.id,
                Task.instance_id,
                Task.name,
                Task.role,
                Task.assignee,
                Task.created_at,
                Task.due_at,
                ProcessInstance.business_number,
                ProcessInstance.process_key,
                ProcessInstance.customer_name,
            )
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(OPEN_TASK, Task.due_at.is_not(None), Task.due_at > now, ~told)
            .order_by(Task.due_at)
            .limit(limit)
        ).all()
    )


def _marker(key: str, instance_id: int, now: datetime) -> Notification:
    """The row that says a task's due-soon notice was written (for nobody, or for its people)."""
    return Notification(
        event_key=key,
        kind="due_soon",
        recipient="",
        medium="marker",
        instance_id=instance_id,
        params={},
        state="delivered",
        attempts=0,
        next_attempt_at=now,
        delivered_at=now,
        created_at=now,
    )
