"""A case's variables as its workflow holds them now, read from the stored state (no lock, no change).

The audit trail holds what people entered; scripts and service tasks add more (lists a service
looked up, totals a script summed). Printing a document needs both, so this restores
the workflow from its stored state and reads the data of the step that ran last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState

from engine.errors import NotFound
from engine.runtime.unit_of_work import jsonable
from engine.store.models import ProcessInstance
from engine.store.serialization import state_from_document
from engine.store.state_store import stored_state

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


def case_variables(engine: Engine, instance_id: int) -> dict[str, Any]:
    """Return the variables of a case: the data of its last completed step, and the workflow's own."""
    with engine.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound("no such case")
        stored = stored_state(session, instance)
        if not stored.snapshot:
            return {}
        specs = engine.definitions.specs(instance.definition)
        workflow = state_from_document(stored.document(), specs)
    completed = [task for task in workflow.get_tasks(state=TaskState.COMPLETED) if task.data]
    data: dict[str, Any] = {}
    if completed:
        last = max(completed, key=lambda task: task.last_state_change)
        data.update(last.data)
    data.update(workflow.data or {})
    clean = jsonable(data)
    return clean if isinstance(clean, dict) else {}
