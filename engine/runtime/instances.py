"""Case commands: start one (and the cases its messages start), suspend, resume, terminate, retry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts.users import Actor
from engine.calendar.due_basis import noting_due_times
from engine.errors import EngineError, InstanceNotActive, PermissionDenied
from engine.operations.command_log import note_case
from engine.runtime import guards, messages, steps, submissions, unit_of_work, versions
from engine.runtime.business_numbers import next_business_number
from engine.runtime.statuses import ACTIVE, ERROR, SUSPENDED, TERMINATED
from engine.sandbox.limits import command_budget
from engine.store.models import Event, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from engine.runtime.engine import Engine
    from engine.runtime.unit_of_work import CommandState

#: How deep cases may start each other by messages before the engine calls it a loop.
MAX_LINK_DEPTH = 5


@dataclass(frozen=True)
class StartedInstance:
    """What ``start`` hands back."""

    id: int
    business_number: str
    status: str


def start(
    engine: Engine,
    process_key: str,
    data: Mapping[str, Any],
    actor: Actor,
    parent_instance_id: int | None,
) -> StartedInstance:
    """Start a case of the newest version with the start form's data."""
    with engine.writer.begin() as session, noting_due_times():
        engine.refresh_calendar(session)
        definition = versions.latest_definition(session, process_key)
        if not versions.may_start(engine, definition, actor):
            raise PermissionDenied(f"your roles may not start '{definition.name}'")
        start_form = engine.definitions.meta(definition)["process"].get("start_form")
        clean = (
            submissions.validate_form(engine, definition, start_form, data, {}, session)
            if start_form
            else dict(data)
        )
        with command_budget(engine.limits):
            ctx = start_in(engine, session, definition, clean, actor, parent_instance_id)
    unit_of_work.after_commit(engine, ctx)
    return StartedInstance(ctx.instance.id, ctx.instance.business_number, ctx.instance.status)


def start_by_message(
    engine: Engine,
    process_key: str,
    message: str,
    data: Mapping[str, Any],
    actor: Actor,
    alongside: Callable[[Session, ProcessInstance], None] | None = None,
) -> StartedInstance:
    """Start a case of the newest version at the start event catching ``message``.

    The caller has checked ``data``; ``alongside`` writes its own rows about the new case in the
    same transaction, so the case and what the caller keeps about it exist together or not at all.
    """
    with engine.writer.begin() as session, noting_due_times():
        engine.refresh_calendar(session)
        definition = versions.latest_definition(session, process_key)
        if message not in versions.message_starts(engine, definition):
            raise EngineError(f"no start event of '{definition.name}' catches the message '{message}'")
        if not versions.may_start(engine, definition, actor):
            raise PermissionDenied(f"your roles may not start '{definition.name}'")
        with command_budget(engine.limits):
            ctx = start_in(engine, session, definition, dict(data), actor, None, message=message)
        if alongside is not None:
            alongside(session, ctx.instance)
    unit_of_work.after_commit(engine, ctx)
    return StartedInstance(ctx.instance.id, ctx.instance.business_number, ctx.instance.status)


def start_in(
    engine: Engine,
    session: Session,
    definition: ProcessDefinition,
    data: dict[str, Any],
    actor: Actor,
    parent_instance_id: int | None,
    message: str | None = None,
) -> CommandState:
    """Create, run and save a new instance inside the caller's transaction."""
    specs = engine.definitions.specs(definition)
    workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=engine.script_engine)
    instance = _new_instance(engine, session, definition, actor, parent_instance_id)
    data = {**data, "business_number": instance.business_number}
    ctx = unit_of_work.CommandState(session, instance, workflow, engine.definitions.meta(definition), actor)
    ctx.created = True
    ctx.record(
        "instance_started",
        data={
            "version": definition.version,
            "data": unit_of_work.jsonable(data),
            "parent": parent_instance_id,
            "message": message,
        },
    )
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    if message is not None:
        # Only the start event that catches the message may start this case: open the
        # start events, withdraw the plain ones, then hand the message over.
        steps.open_start_events(workflow)
        messages.deliver(engine, ctx, message, data)
    else:
        steps.run_engine_steps(engine, ctx)
    unit_of_work.save(engine, ctx)
    return ctx


def _new_instance(
    engine: Engine,
    session: Session,
    definition: ProcessDefinition,
    actor: Actor,
    parent_instance_id: int | None,
) -> ProcessInstance:
    """Add the row of a new case, numbered with its process's prefix."""
    now = clock.now()
    prefix = engine.definitions.meta(definition)["process"]["prefix"]
    number = next_business_number(session, prefix, now, engine.config.calendar.timezone)
    instance = ProcessInstance(
        business_number=number,
        definition_id=definition.id,
        process_key=definition.process_key,
        status=ACTIVE,
        state="",
        lock_version=1,
        started_by=actor.username,
        started_at=now,
        updated_at=now,
        parent_instance_id=parent_instance_id,
    )
    instance.definition = definition
    session.add(instance)
    note_case(instance.business_number)
    session.flush()
    return instance


def start_linked_cases(engine: Engine, ctx: CommandState) -> None:
    """Start the cases that messages thrown by this case are addressed to (same transaction)."""
    thrown, ctx.thrown = ctx.thrown, []
    for name, payload in thrown:
        targets = [
            d for d in versions.latest_definitions(ctx.session) if name in versions.message_starts(engine, d)
        ]
        if not targets:
            ctx.record("message_unrouted", data={"name": name})
            continue
        if ctx.depth >= MAX_LINK_DEPTH:
            raise EngineError(f"cases started each other more than {MAX_LINK_DEPTH} levels deep")
        for target in targets:
            child = start_in(engine, ctx.session, target, payload, ctx.actor, ctx.instance.id, message=name)
            child.depth = ctx.depth + 1
            ctx.new_timers += child.new_timers
            ctx.session.add(
                Event(
                    instance_id=ctx.instance.id,
                    actor=ctx.actor.username,
                    action="linked_case_started",
                    at=clock.now(),
                    data={
                        "business_number": child.instance.business_number,
                        "process": target.process_key,
                        "message": name,
                    },
                )
            )


def set_status(
    engine: Engine,
    instance_id: int,
    actor: Actor,
    reason: str,
    status: str,
    from_states: set[str],
    action: str,
) -> None:
    """Suspend, resume or terminate a case (managers, with a reason)."""
    if not reason.strip():
        raise EngineError("a reason is required")
    with unit_of_work.instance_command(engine, instance_id, actor) as ctx:
        guards.require_manager(engine.config, actor)
        if ctx.instance.status not in from_states:
            raise InstanceNotActive(f"the case is {ctx.instance.status}")
        ctx.instance.status = status
        ctx.rewrite_whole_state()
        if status == TERMINATED:
            ctx.workflow.cancel()
            ctx.instance.ended_at = clock.now()
        ctx.record(action, data={"reason": reason})


def suspend(engine: Engine, instance_id: int, actor: Actor, reason: str) -> None:
    """Stop a case from moving on until it is resumed."""
    set_status(engine, instance_id, actor, reason, SUSPENDED, {ACTIVE}, "instance_suspended")


def resume(engine: Engine, instance_id: int, actor: Actor, reason: str) -> None:
    """Let a suspended case move on again."""
    set_status(engine, instance_id, actor, reason, ACTIVE, {SUSPENDED}, "instance_resumed")


def terminate(engine: Engine, instance_id: int, actor: Actor, reason: str) -> None:
    """End a case for good; its open tasks are cancelled."""
    set_status(
        engine, instance_id, actor, reason, TERMINATED, {ACTIVE, SUSPENDED, ERROR}, "instance_terminated"
    )


def retry(engine: Engine, instance_id: int, actor: Actor, reason: str) -> None:
    """Run an instance in error again from the failed element."""
    with unit_of_work.instance_command(engine, instance_id, actor) as ctx:
        guards.require_manager(engine.config, actor)
        if ctx.instance.status != ERROR:
            raise InstanceNotActive("only a case in error can be retried")
        failed = list(ctx.workflow.get_tasks(state=TaskState.ERROR))
        ctx.record(
            "instance_retried",
            element_id=ctx.instance.error_element,
            data={"reason": reason, "error": ctx.instance.error_message},
        )
        ctx.instance.status, ctx.instance.error_element, ctx.instance.error_message = ACTIVE, None, None
        ctx.rewrite_whole_state()  # failed tasks are set back to ready by hand
        try:
            for task in failed:
                task._set_state(TaskState.READY)
                if task.task_spec.manual:
                    task.run()
        except SpiffWorkflowException as error:
            steps.mark_error(ctx, error)
            return
        steps.run_engine_steps(engine, ctx)
