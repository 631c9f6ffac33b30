"""Task commands: claim, give back, assign, keep a draft, complete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor
from engine.errors import EngineError, NotFound, PermissionDenied, TaskNotAvailable
from engine.runtime import guards, signing, steps, submissions, versions
from engine.runtime.unit_of_work import jsonable, locked_task, task_command
from engine.store.models import User
from engine.store.projection import find_task

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def claim(engine: Engine, task_id: str, actor: Actor) -> None:
    """Take an offered task so that only the actor works on it."""
    with task_command(engine, task_id, actor) as (ctx, row):
        guards.require_role(row, actor)
        if row.assignee and row.assignee != actor.username:
            raise TaskNotAvailable(f"the task is already claimed by {row.assignee}", assignee=row.assignee)
        guards.require_separate_duties(ctx.session, ctx.meta, row, actor)
        row.assignee, row.claimed_at = actor.username, clock.now()
        ctx.record("task_claimed", row.id, row.spec_id)


def unclaim(engine: Engine, task_id: str, actor: Actor) -> None:
    """Give a claimed task back to everyone holding its role."""
    with task_command(engine, task_id, actor) as (ctx, row):
        if row.assignee != actor.username and not (engine.config.assigner_roles & actor.roles):
            raise PermissionDenied("only the person holding the task or a supervisor can give it back")
        previous, row.assignee, row.claimed_at = row.assignee, None, None
        ctx.record("task_unclaimed", row.id, row.spec_id, {"previous": previous})


def assign(engine: Engine, task_id: str, assignee: str, actor: Actor) -> None:
    """Assign a task to a named user holding its role (supervisors)."""
    with task_command(engine, task_id, actor) as (ctx, row):
        guards.require_assigner(engine.config, actor, "only a supervisor can assign tasks to others")
        user = ctx.session.scalar(select(User).where(User.username == assignee, User.active.is_(True)))
        if user is None:
            raise NotFound(f"no active user named '{assignee}'")
        if row.role and row.role not in user.role_keys:
            raise EngineError(f"{assignee} does not hold the role '{row.role}' this task needs")
        previous, row.assignee, row.claimed_at = row.assignee, assignee, clock.now()
        ctx.record("task_assigned", row.id, row.spec_id, {"assignee": assignee, "previous": previous})


def save_draft(engine: Engine, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
    """Keep unfinished form input on the task without completing it."""
    with engine.writer.begin() as session:
        row = locked_task(session, task_id)
        guards.check_open(row)
        guards.require_can_work(row, actor)
        row.draft = jsonable(dict(data))


def complete(
    engine: Engine, task_id: str, data: Mapping[str, Any], actor: Actor, password: str | None = None
) -> None:
    """Complete a task with form data validated against its form, then run the engine on.

    A signed step (``signature`` on its element) needs the actor's ``password``; the form's
    drawn signatures and the approver's signature are kept as signature records.
    """
    checked = signing.check_password_first(engine, task_id, actor.username, password)
    with task_command(engine, task_id, actor) as (ctx, row):
        guards.require_can_work(row, actor)
        guards.require_separate_duties(ctx.session, ctx.meta, row, actor)
        spiff_task = find_task(ctx.workflow, row.id)
        if spiff_task is None or not spiff_task.has_state(TaskState.READY):
            raise TaskNotAvailable("the task is no longer waiting for input")
        clean = (
            submissions.validate_form(
                engine, ctx.instance.definition, row.form_key, data, spiff_task.data, ctx.session
            )
            if row.form_key
            else dict(data)
        )
        meaning = signing.check_approver(ctx, row, password, engine.config.password_matches, checked)
        if row.form_key:
            form = versions.form_of(engine, ctx.instance.definition, row.form_key)
            signing.keep_drawn_signatures(ctx, row, form, clean)
        if meaning is not None:
            signing.keep_approval(ctx, row, meaning, clean)
        now = clock.now()
        row.state, row.completed_at, row.completed_by, row.draft = "completed", now, actor.username, None
        if row.assignee is None:
            row.assignee = actor.username
        ctx.record("task_completed", row.id, row.spec_id, {"data": jsonable(clean)})
        if hasattr(spiff_task.task_spec, "add_data_from_form"):
            spiff_task.task_spec.add_data_from_form(spiff_task, clean)
        else:
            spiff_task.set_data(**clean)
        try:
            spiff_task.run()
        except SpiffWorkflowException as error:
            steps.mark_error(ctx, error)
            return
        steps.run_engine_steps(engine, ctx)
