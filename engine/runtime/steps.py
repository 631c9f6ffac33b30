"""Run a case's workflow until it needs people or waits, and turn a failure into the error state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError
from engine.operations.command_log import note_case_error
from engine.runtime.context import CommandContext, running
from engine.runtime.statuses import ERROR
from engine.store.task_scan import any_in_state, walk_ready

if TYPE_CHECKING:
    from engine.runtime.engine import Engine
    from engine.runtime.unit_of_work import CommandState

log = logging.getLogger(__name__)


def run_engine_steps(engine: Engine, ctx: CommandState) -> None:
    """Run the case until it needs people or waits; a failure puts it in error."""
    command = CommandContext(
        ctx.session,
        ctx.instance.id,
        ctx.instance.business_number,
        ctx.actor.username,
        engine.config.calendar.timezone,
    )
    try:
        try:
            with running(command):
                run_until_input_needed(ctx.workflow)
        finally:
            ctx.decisions.update(command.decisions)
        ctx.thrown.extend(
            (event.event_definition.name, dict(event.payload or {}))
            for event in ctx.workflow.get_events()
            if isinstance(event.event_definition, MessageEventDefinition)
        )
    except SpiffWorkflowException as error:
        mark_error(ctx, error)
    except Exception as error:  # any library failure must become a visible error state
        log.exception("engine step failed in %s", ctx.instance.business_number)
        mark_error(ctx, error)


def run_until_input_needed(workflow: BpmnWorkflow, max_rounds: int = 1000) -> None:
    """Run engine steps until only human tasks and waiting events are left.

    ``do_engine_steps`` refreshes timers only at its end, so a timer that fired there leaves
    a READY event behind: run again until nothing automatic is ready.
    """
    for _ in range(max_rounds):
        do_engine_steps(workflow)
        if not any_in_state(workflow, TaskState.READY, _is_automatic):
            return
    raise EngineError(f"the case did not come to rest after {max_rounds} rounds of engine steps")


def do_engine_steps(workflow: BpmnWorkflow) -> None:
    """``workflow.do_engine_steps()``, each pass finding its ready tasks without walking the task tree.

    The same passes as SpiffWorkflow's, in the same order: each active subprocess, deepest
    first, until it has nothing automatic ready, then the workflow itself; again while a pass
    ran a task or opened a subprocess; then the timers are refreshed. Each pass runs the ready
    tasks found when it began (``walk_ready``: the walk's answer, in the walk's order).
    """
    while _engine_pass(workflow):
        pass
    workflow.refresh_timers()


def _engine_pass(workflow: BpmnWorkflow) -> bool:
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda sub: sub.depth, reverse=True):
        while _run_ready(subprocess):
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    ran = _run_ready(workflow)
    return ran > 0 or len(workflow.get_active_subprocesses()) > len(active)


def _run_ready(workflow: Any) -> int:
    ran = 0
    for task in walk_ready(workflow):
        if not task.task_spec.manual:
            task.run()
            ran += 1
    return ran


def _is_automatic(task: SpiffTask) -> bool:
    return not task.task_spec.manual


def mark_error(ctx: CommandState, error: Exception, element: str | None = None) -> None:
    """Put the case in error, naming the failed element (given, or found on the error) and the message."""
    task: SpiffTask | None = getattr(error, "task", None)
    element = (
        element
        or getattr(error, "element_id", None)
        or ((task.task_spec.bpmn_id or task.task_spec.name) if task is not None else None)
    )
    message = error_text(error)
    ctx.instance.status, ctx.instance.error_element, ctx.instance.error_message = ERROR, element, message
    ctx.record("instance_error", element_id=element, data={"message": message})
    note_case_error()


def error_text(error: BaseException) -> str:
    """The error's message with its notes, each once, cut to what the column holds."""
    parts = [str(getattr(error, "message", None) or error).strip() or type(error).__name__]
    parts.extend(str(note) for note in getattr(error, "notes", []) or [])
    parts.extend(str(note) for note in getattr(error, "__notes__", []) or [])
    return "; ".join(dict.fromkeys(p for p in parts if p))[:2000]


def open_start_events(workflow: BpmnWorkflow) -> None:
    """Run the workflow up to its start events and cancel those that need no trigger."""
    for _ in range(10):
        ready = [
            t for t in workflow.get_tasks(state=TaskState.READY) if not isinstance(t.task_spec, StartEvent)
        ]
        if not ready:
            break
        for task in ready:
            task.run()
    for task in workflow.get_tasks(state=TaskState.READY):
        if isinstance(task.task_spec, StartEvent) and isinstance(
            task.task_spec.event_definition, NoneEventDefinition
        ):
            task.cancel()
