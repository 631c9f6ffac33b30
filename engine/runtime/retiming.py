"""Re-time what a calendar change moves: open tasks' due times and pending working-time timers.

Only due times counted in working time keep a basis (start, amount, unit); each one whose
count ran over a changed day is counted again from its basis on the new calendar, one
transaction per case, and the move is audited on the case. Wall-clock limits have no basis
and are never touched. Running it again finds nothing left to move, so an interrupted run is
finished by the next change (or by ``retime_due_times`` called with the same days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.users import Actor
from engine.calendar.due_basis import DueBasis
from engine.calendar.working import WorkingCalendar
from engine.store.models import OPEN_TASK, Job, Task
from engine.store.projection import find_task

if TYPE_CHECKING:
    from engine.runtime import CommandState, Engine

RETIMED = "due_retimed"


@dataclass(frozen=True)
class Retimed:
    """One due time a calendar change moved."""

    instance_id: int
    kind: str  # timer | task
    element_id: str
    old: datetime
    new: datetime


def change_calendar(engine: Engine, change: Callable[[Session], set[date]], actor: Actor) -> list[Retimed]:
    """Apply a calendar change in its own transaction, then re-time what depends on the changed days."""
    with engine.writer.begin() as session:
        changed = change(session)
    return retime_due_times(engine, changed, actor)


def change_working_day(engine: Engine, change: Callable[[Session], None], actor: Actor) -> list[Retimed]:
    """Apply a change of the working day or timezone, then re-time every open working-time due time."""
    with engine.writer.begin() as session:
        change(session)
    return retime_due_times(engine, [date.min], actor, every_day=True)


def retime_due_times(
    engine: Engine, changed: Iterable[date], actor: Actor, every_day: bool = False
) -> list[Retimed]:
    """Count every open working-time due time over a changed day (or all of them) again; return what moved."""
    days = sorted(set(changed))
    if not days:
        return []
    calendar = engine.config.calendar
    # A due time before the first changed day did not count it (a day's margin for timezones).
    cutoff = (
        datetime(1970, 1, 1, tzinfo=calendar.timezone)
        if every_day
        else datetime.combine(days[0] - timedelta(days=1), time(0), calendar.timezone)
    )
    with engine.sessions() as session:
        engine.refresh_calendar(session)
        instance_ids = set(
            session.scalars(
                select(Job.instance_id).where(
                    Job.done_at.is_(None), Job.due_basis.is_not(None), Job.due_at >= cutoff
                )
            )
        )
        instance_ids |= set(
            session.scalars(
                select(Task.instance_id).where(OPEN_TASK, Task.due_basis.is_not(None), Task.due_at >= cutoff)
            )
        )
    moved: list[Retimed] = []
    for instance_id in sorted(instance_ids):
        with engine.instance_command(instance_id, actor) as ctx:
            moved += _retime_case(ctx, engine.config.calendar, None if every_day else days)
    if moved:
        engine.wakeup.set()  # a sleeping runner may now be due earlier
    return moved


def _counted_over(basis: DueBasis, due: datetime, days: list[date] | None, calendar: WorkingCalendar) -> bool:
    """Whether a changed day lies between the basis's start and the due time (local dates); None: all do."""
    if days is None:
        return True
    first = basis.start.astimezone(calendar.timezone).date()
    last = due.astimezone(calendar.timezone).date()
    return any(first <= day <= last for day in days)


def _retime_case(ctx: CommandState, calendar: WorkingCalendar, days: list[date] | None) -> list[Retimed]:
    """Move this case's timers and task due times counted over a changed day (inside its command)."""
    moved: list[Retimed] = []
    session, instance = ctx.session, ctx.instance
    ctx.rewrite_whole_state()  # timers' stored due times change outside SpiffWorkflow's run
    jobs = session.scalars(
        select(Job).where(Job.instance_id == instance.id, Job.done_at.is_(None), Job.due_basis.is_not(None))
    )
    for job in jobs:
        basis = DueBasis.from_json(job.due_basis)
        if basis is None or not _counted_over(basis, job.due_at, days, calendar):
            continue
        new = calendar.count_due(basis.start, basis.amount, basis.unit)
        spiff_task = find_task(ctx.workflow, job.task_id)
        if new == job.due_at or spiff_task is None:
            continue
        if not isinstance(spiff_task._get_internal_data("event_value"), str):
            continue  # cycle timers keep their own schedule
        # The timer fires when SpiffWorkflow's stored value passes, so that is what moves.
        spiff_task._set_internal_data(event_value=new.isoformat())
        moved.append(Retimed(instance.id, "timer", job.element_id, job.due_at, new))
        job.due_at = new
    tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id, OPEN_TASK, Task.due_basis.is_not(None))
    )
    for task in tasks:
        basis = DueBasis.from_json(task.due_basis)
        if basis is None or task.due_at is None or not _counted_over(basis, task.due_at, days, calendar):
            continue
        new = calendar.count_due(basis.start, basis.amount, basis.unit)
        if new == task.due_at:
            continue
        moved.append(Retimed(instance.id, "task", task.spec_id, task.due_at, new))
        task.due_at = new
    for item in moved:
        ctx.record(
            RETIMED,
            element_id=item.element_id,
            data={
                "kind": item.kind,
                "from": item.old.astimezone(calendar.timezone).isoformat(),
                "to": item.new.astimezone(calendar.timezone).isoformat(),
            },
        )
    return moved
