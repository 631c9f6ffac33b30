"""Messages: deliver one to a case waiting for it (the case then runs on)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.accounts.users import Actor
from engine.errors import EngineError, TaskNotAvailable
from engine.runtime import guards, steps
from engine.runtime.unit_of_work import CommandState, instance_command, jsonable

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def send_message(
    engine: Engine, instance_id: int, name: str, payload: Mapping[str, Any] | None, actor: Actor
) -> None:
    """Deliver a message to an instance waiting for it."""
    with instance_command(engine, instance_id, actor) as ctx:
        guards.require_active(ctx.instance)
        if waiting_message(ctx.workflow, name) is None:
            raise TaskNotAvailable(f"the case is not waiting for the message '{name}'")
        ctx.record("message_received", data={"name": name, "payload": jsonable(dict(payload or {}))})
        deliver(engine, ctx, name, dict(payload or {}))


def waiting_message(workflow: BpmnWorkflow, name: str) -> MessageEventDefinition | None:
    """The definition of the event that waits for the message ``name``, if one does."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return definition
    return None


def deliver(engine: Engine, ctx: CommandState, name: str, payload: dict[str, Any]) -> None:
    """Hand the message to the waiting event and run the case on (a failure puts it in error)."""
    definition = waiting_message(ctx.workflow, name)
    if definition is None:
        steps.mark_error(ctx, EngineError(f"the case is not waiting for the message '{name}'"))
        return
    # Catching compares definition classes, so throw the waiting event's own kind.
    try:
        ctx.workflow.send_event(BpmnEvent(definition, payload))
    except SpiffWorkflowException as error:
        steps.mark_error(ctx, error)
        return
    steps.run_engine_steps(engine, ctx)
