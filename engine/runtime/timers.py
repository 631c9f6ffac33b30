"""Timers: fire those that are due, and keep a scheduled process's next case waiting on its start timer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import Actor
from engine.runtime import instances, steps, versions
from engine.runtime.statuses import ACTIVE, SCHEDULED, TERMINATED
from engine.runtime.unit_of_work import instance_command
from engine.store.models import Event, Job, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def fire_due_timers(engine: Engine, instance_id: int, actor: Actor | None = None) -> int:
    """Fire the instance's timers whose time has come; return how many fired."""
    actor = actor or Actor.system()
    with instance_command(engine, instance_id, actor) as ctx:
        if ctx.instance.status not in (ACTIVE, SCHEDULED):
            return 0
        # SpiffWorkflow fires a timer once its time is strictly past; the projection
        # closes the job and records the firing.
        due = (
            ctx.session.scalar(
                select(func.count(Job.id)).where(
                    Job.instance_id == instance_id, Job.done_at.is_(None), Job.due_at < clock.now()
                )
            )
            or 0
        )
        if due and ctx.instance.status == SCHEDULED:
            # The start timer fired: this case runs now, and the next one is scheduled.
            ctx.instance.status = ACTIVE
            steps.run_engine_steps(engine, ctx)
            latest = versions.latest_definition(ctx.session, ctx.instance.process_key)
            schedule(engine, ctx.session, latest, replace=False)
        elif due:
            steps.run_engine_steps(engine, ctx)
        return due


def schedule(
    engine: Engine,
    session: Session,
    definition: ProcessDefinition,
    replace: bool,
    timer_start: bool | None = None,
) -> None:
    """Keep one case of a scheduled process waiting on its start timer, on the newest version.

    ``timer_start`` tells whether the version starts on a timer when the caller knows (a deploy
    does); otherwise its spec is read to find out.
    """
    if replace:  # cases still waiting to start belong to the old version: withdraw them
        _withdraw_waiting_cases(session, definition)
    if timer_start is None:
        timer_start = versions.has_timer_start(engine, definition)
    if not timer_start:
        return
    ctx = instances.start_in(engine, session, definition, {}, Actor.system(), None)
    ctx.instance.status = SCHEDULED
    ctx.record("instance_scheduled")


def _withdraw_waiting_cases(session: Session, definition: ProcessDefinition) -> None:
    """End the cases of older versions that still wait on their start timer."""
    for waiting in session.scalars(
        select(ProcessInstance).where(
            ProcessInstance.process_key == definition.process_key, ProcessInstance.status == SCHEDULED
        )
    ):
        waiting.status, waiting.ended_at = TERMINATED, clock.now()
        for job in session.scalars(select(Job).where(Job.instance_id == waiting.id, Job.done_at.is_(None))):
            job.done_at = clock.now()
        session.add(
            Event(
                instance_id=waiting.id,
                actor="system",
                action="instance_terminated",
                at=clock.now(),
                data={"reason": f"replaced by version {definition.version}"},
            )
        )
