"""What a command changed in a workflow's state document, and the document rebuilt from a snapshot and its changes.

A case's state is kept as a snapshot (the whole compact document, ``serialization.state_to_json``)
followed by changes, one per command. A change holds the workflow's own fields (its data,
correlations, events …) and each subprocess's, the tasks that are new or changed since the save
before — each in the very form the whole document gives it — and the ids of the tasks (and
subprocesses) that went. Applying the changes to the snapshot in order gives, key for key and
in the same order, the document a whole save of the workflow would have written.

Which tasks changed is told by a cheap fingerprint of each task taken at the save before (its
state and when it changed, whether it was triggered, which data and internal data objects it
holds and how many keys they have, its parent and children). A ready, waiting, running or
failed task is always written again: SpiffWorkflow changes the internal data of such tasks in
place (a predicted task's data stays empty until it becomes ready, its internal data gains keys
only). A task whose parent is written again is written again too
(its data is written as what differs from its parent's). And before the fingerprints are
taken, the data of each unsettled task is made its own (``detach``): data is copied from task
to task shallowly, so a script changing a nested value in place could otherwise change the
data of a settled task too, which its fingerprint would not show. A restored workflow shares
nothing either, so this keeps a kept workflow like a restored one.

Whatever the engine changes outside SpiffWorkflow's own run (case variables, retimed timers, a
move to another version, an administrator's reset or retry) is saved as a whole snapshot
instead (``unit_of_work``), as is any workflow of a class the compact form does not write
field by field.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.store.serialization import (
    SERIALIZER,
    drop_listed_parents,
    own_fields,
    state_json,
    subworkflow_document,
    task_entry,
)

#: States a task never leaves while SpiffWorkflow runs (only a reset or a move to another version does).
SETTLED = TaskState.COMPLETED | TaskState.CANCELLED
#: States in which SpiffWorkflow changes a task's data or internal data in place (a task waiting for
#: an event, a multi-instance task merging its children): a task in one is always written again.
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR

#: A task's fingerprint: what tells that it changed (see the module's docstring); children last.
Fingerprint = tuple[Any, ...]
#: The fingerprints of a workflow's tasks: by subprocess id (None for the workflow's own tasks), then by task id.
Fingerprints = dict[UUID | None, dict[UUID, Fingerprint]]


def fingerprints(workflow: BpmnWorkflow) -> Fingerprints:
    """Make each unsettled task's data its own, then fingerprint every task (after a restore or a save)."""
    prints: Fingerprints = {None: _mapping_prints(workflow.tasks)}
    for sub_id, sub in workflow.subprocesses.items():
        prints[sub_id] = _mapping_prints(sub.tasks)
    return prints


def _mapping_prints(tasks: dict[UUID, SpiffTask]) -> dict[UUID, Fingerprint]:
    prints = {}
    for uid, task in tasks.items():
        detach(task)
        prints[uid] = _fingerprint(task)
    return prints


def detach(task: SpiffTask) -> None:
    """Give an unsettled task a deep copy of its data, so that nothing in it is shared with another task."""
    if not task._state & SETTLED and task.data:
        task.data = copy.deepcopy(task.data)


def _fingerprint(task: SpiffTask) -> Fingerprint:
    data, internal = task.data, task.internal_data
    return (
        task._state,
        task.last_state_change,
        task.triggered,
        task.task_spec.name,
        id(data),
        len(data),
        id(internal),
        len(internal),
        task._parent,
        tuple(task._children),
    )


def state_change(workflow: BpmnWorkflow, before: Fingerprints) -> tuple[str, Fingerprints] | None:
    """The change since the save whose fingerprints are ``before`` (JSON text), and the fingerprints now.

    None when only a whole snapshot can hold the workflow (a class the compact form does not
    write field by field). Raises what serializing the data raises (a value JSON cannot hold).
    """
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        found = _change_document(registry, workflow, before)
    finally:
        registry._encoder_mode = False
    if found is None:
        return None
    change, after = found
    return state_json(change), after


def _change_document(
    registry: Any, workflow: BpmnWorkflow, before: Fingerprints
) -> tuple[dict[str, Any], Fingerprints] | None:
    fields = own_fields(registry, workflow)
    if fields is None or None not in before:
        return None
    after: Fingerprints = {}
    change = _mapping_change(registry, fields, workflow.tasks, before[None], after, None)
    if change is None:
        return None
    subprocesses: dict[str, Any] = {}
    for sub_id, sub in workflow.subprocesses.items():
        sub_fields = own_fields(registry, sub)
        if sub_fields is None:
            return None
        if sub_id not in before:
            subprocesses[str(sub_id)] = {"whole": subworkflow_document(registry, sub)}
            after[sub_id] = _mapping_prints(sub.tasks)
            continue
        sub_change = _mapping_change(registry, sub_fields, sub.tasks, before[sub_id], after, sub_id)
        if sub_change is None:
            return None
        subprocesses[str(sub_id)] = sub_change
    change["subprocesses"] = subprocesses
    change["removed_subprocesses"] = [
        str(sub_id) for sub_id in before if sub_id is not None and sub_id not in workflow.subprocesses
    ]
    return change, after


def _mapping_change(
    registry: Any,
    fields: dict[str, Any],
    tasks: dict[UUID, SpiffTask],
    before: dict[UUID, Fingerprint],
    after: Fingerprints,
    key: UUID | None,
) -> dict[str, Any] | None:
    """The change of one task mapping (the workflow's or a subprocess's); its fingerprints go in ``after``."""
    prints: dict[UUID, Fingerprint] = {}
    written: set[UUID] = set()
    for uid, task in tasks.items():
        if type(task) is not SpiffTask:
            return None
        detach(task)
        now = _fingerprint(task)
        prints[uid] = now
        old = before.get(uid)
        if old == now and not task._state & ACTIVE:
            continue
        written.add(uid)
        written.update(task._children)  # a child's data is written as what differs from this task's
        if old is not None and old[-1] != now[-1]:
            written.update(old[-1])  # a task no longer listed as a child must name its parent itself
    typename = registry.typenames[SpiffTask]
    names: dict[int, str] = {}
    after[key] = prints
    return {
        "fields": fields,
        "tasks": {
            str(uid): task_entry(registry, typename, names, uid, task)
            for uid, task in tasks.items()
            if uid in written
        },
        "removed": [str(uid) for uid in before if uid not in tasks],
    }


def materialize(snapshot: str, changes: list[str]) -> str:
    """The state document's text: the snapshot with the changes applied in order."""
    if not changes:
        return snapshot
    return state_json(materialized_document(snapshot, changes))


def materialized_document(snapshot: str, changes: list[str]) -> dict[str, Any]:
    """The state document: the snapshot (JSON text) with the changes (JSON texts) applied in order."""
    document: dict[str, Any] = json.loads(snapshot)
    for text in changes:
        apply_change(document, json.loads(text))
    return document


def apply_change(document: dict[str, Any], change: dict[str, Any]) -> None:
    """Apply one change to a state document, in place."""
    _apply_mapping_change(document, change)
    subprocesses: dict[str, Any] = document.setdefault("subprocesses", {})
    for sub_id in change["removed_subprocesses"]:
        subprocesses.pop(sub_id, None)
    for sub_id, sub_change in change["subprocesses"].items():
        if "whole" in sub_change:
            subprocesses[sub_id] = sub_change["whole"]
        else:
            _apply_mapping_change(subprocesses[sub_id], sub_change)


def _apply_mapping_change(document: dict[str, Any], change: dict[str, Any]) -> None:
    document.update(change["fields"])
    tasks: dict[str, dict[str, Any]] = document["tasks"]
    for task_id in change["removed"]:
        del tasks[task_id]
    tasks.update(change["tasks"])
    drop_listed_parents(tasks)
