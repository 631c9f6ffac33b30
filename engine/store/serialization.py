"""Workflow state ⇄ JSON, with the process spec kept once per deployed version.

SpiffWorkflow's serializer embeds the whole spec in every workflow document. We store the
spec on the definition row and only the instance state on the instance row; on load the
cached spec objects are handed straight to the restore, so neither serializing nor
restoring a workflow touches the spec.

The state is stored *compact*: each task leaves out what the document already says elsewhere
(its id, which is its key; its parent, when the parent lists it among its children) and the
values every new task has (not triggered, no internal data, no data), without spaces. A case
keeps this document as a snapshot followed by the changes each command made
(``engine.store.state_delta``, whose task entries are written by ``task_entry`` here). Documents
stored before (``compact`` absent) are read as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.deep_merge import DeepMerge

STATE_FORMAT = "1.5"


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Leave the spec out of the document; accept already-restored spec objects back."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec = dct["spec"]
        if isinstance(spec, dict):
            return super().from_dict(dct)
        # The spec objects are shared by every instance of the version: restore around them.
        del dct["spec"]
        return _restore_with_specs(self, dct, spec, dct.pop("subprocess_specs", {}))


def _restore_with_specs(
    converter: _StateOnlyWorkflowConverter,
    dct: dict[str, Any],
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(workflow, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = converter.registry.restore(dct.pop("bpmn_events", []))
    return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()


@dataclass(frozen=True)
class ProcessSpecs:
    """The parsed spec of a process and the specs of the processes it calls."""

    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


def specs_to_json(specs: ProcessSpecs) -> str:
    """Serialize a process spec and its subprocess specs for the definition row."""
    return json.dumps(
        {
            "format": STATE_FORMAT,
            "spec": SERIALIZER.to_dict(specs.spec),
            "subprocess_specs": {k: SERIALIZER.to_dict(v) for k, v in specs.subprocess_specs.items()},
        },
        ensure_ascii=False,
    )


def specs_from_json(text: str) -> ProcessSpecs:
    """Restore the specs stored on a definition row."""
    dct = json.loads(text)
    return ProcessSpecs(
        spec=SERIALIZER.from_dict(dct["spec"]),
        subprocess_specs={k: SERIALIZER.from_dict(v) for k, v in dct["subprocess_specs"].items()},
    )


#: Marks a compact document (see the module's docstring); its value is the compaction's version.
COMPACT_KEY = "compact"
#: What a task holds unless its document says otherwise.
_TASK_DEFAULTS: dict[str, Any] = {"triggered": False, "internal_data": {}, "data": {}}


def state_to_json(workflow: BpmnWorkflow) -> str:
    """Serialize an instance's workflow state (without its spec), compact."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = _state_document(workflow)
    finally:
        registry._encoder_mode = False
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    dct[COMPACT_KEY] = 1
    return state_json(dct)


def _state_document(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The compact document of a workflow: what ``SERIALIZER.to_dict`` gives, each task compacted.

    The tasks are written straight into their compact form in one pass (plus a look-up of each
    task's parent), instead of converting each through the registry and compacting the result;
    the document is the same, key for key. Anything of a class the fast path does not know is
    converted by the registry and compacted as before.
    """
    registry = SERIALIZER.registry
    if type(workflow) is not BpmnWorkflow:
        dct: dict[str, Any] = SERIALIZER.to_dict(workflow)
        for tasks in _task_mappings(dct):
            _compact_tasks(tasks)
        return dct
    subprocesses = {str(k): subworkflow_document(registry, v) for k, v in workflow.subprocesses.items()}
    return _fields(registry, workflow, _compact_task_mapping(registry, workflow.tasks), subprocesses)


def subworkflow_document(registry: Any, sub: Any) -> dict[str, Any]:
    """A subprocess's whole document (``BpmnSubWorkflowConverter.to_dict``), its tasks compact."""
    if type(sub) is not BpmnSubWorkflow:
        dct: dict[str, Any] = registry.convert(sub)
        _compact_tasks(dct["tasks"])
        return dct
    return _fields(registry, sub, _compact_task_mapping(registry, sub.tasks))


def own_fields(registry: Any, workflow: Any) -> dict[str, Any] | None:
    """What the document of a workflow or subprocess holds besides its tasks and subprocesses.

    None for a workflow of a class the compact form does not write field by field.
    """
    if type(workflow) is not BpmnWorkflow and type(workflow) is not BpmnSubWorkflow:
        return None
    return _fields(registry, workflow)


def _fields(
    registry: Any,
    workflow: Any,
    tasks: dict[str, Any] | None = None,
    subprocesses: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A workflow's or subprocess's document, keys in the registry's order (tasks and subprocesses where given)."""
    dct: dict[str, Any] = {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
    }
    if tasks is not None:
        dct["tasks"] = tasks
    dct["root"] = str(workflow.task_tree.id)
    if type(workflow) is BpmnWorkflow:
        if subprocesses is not None:
            dct["subprocesses"] = subprocesses
        dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
        dct["typename"] = registry.typenames[BpmnWorkflow]
    else:
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        dct["typename"] = registry.typenames[BpmnSubWorkflow]
    return dct


def state_json(document: dict[str, Any]) -> str:
    """A state document (or a change of one) as the compact JSON text the database keeps."""
    return json.dumps(document, cls=SERIALIZER._encoder_cls, separators=(",", ":"))


def _compact_task_mapping(registry: Any, tasks: dict[UUID, SpiffTask]) -> dict[str, dict[str, Any]]:
    """Each task as ``TaskConverter.to_dict`` writes it, less what ``_compact_tasks`` leaves out.

    Each id is turned into text once (children and parents are found by the id's number).
    """
    typename = registry.typenames[SpiffTask]
    names = {uid.int: str(uid) for uid in tasks}
    mapping = {
        names[uid.int]: task_entry(registry, typename, names, uid, task) for uid, task in tasks.items()
    }
    drop_listed_parents(mapping)
    return mapping


def task_entry(
    registry: Any, typename: str, names: dict[int, str], uid: UUID, task: SpiffTask
) -> dict[str, Any]:
    """One task of a compact mapping, its parent still named (``drop_listed_parents`` may drop it).

    ``names`` gives the text of the ids it knows by their number (others are turned into text here).
    """
    key = names.get(uid.int) or str(uid)
    if type(task) is not SpiffTask:
        entry: dict[str, Any] = registry.convert(task)
        _drop_defaults(key, entry)
        return entry
    entry = {}
    if task.id.int != uid.int:
        entry["id"] = str(task.id)
    parent = task.parent
    entry["parent"] = (names.get(task._parent.int) or str(task._parent)) if parent is not None else None
    entry["children"] = [names.get(child.int) or str(child) for child in task._children]
    entry["last_state_change"] = task.last_state_change
    entry["state"] = task._state
    entry["task_spec"] = task.task_spec.name
    if task.triggered is not False:
        entry["triggered"] = task.triggered
    internal = task.internal_data
    if not (type(internal) is dict and not internal):
        internal = registry.convert(internal)
        if not (type(internal) is dict and not internal):
            entry["internal_data"] = internal
    if parent is None:
        data = task.data
        if not (type(data) is dict and not data):
            entry["data"] = data
        entry["delta"] = {}
    else:
        entry["delta"] = {
            "updates": DeepMerge.get_updated_keys(parent.data, task.data),
            "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
        }
    entry["typename"] = typename
    return entry


def state_from_json(text: str, specs: ProcessSpecs) -> BpmnWorkflow:
    """Restore an instance's workflow from its state (compact or not) and its version's specs."""
    return state_from_document(json.loads(text), specs)


def state_from_document(dct: dict[str, Any], specs: ProcessSpecs) -> BpmnWorkflow:
    """Restore a workflow from a state document read from JSON (which this consumes)."""
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version != STATE_FORMAT:
        raise ValueError(f"stored workflow state has format {version!r}; this build reads {STATE_FORMAT}")
    if dct.pop(COMPACT_KEY, None):
        for tasks in _task_mappings(dct):
            _expand_tasks(tasks)
    dct["spec"] = specs.spec
    dct["subprocess_specs"] = specs.subprocess_specs
    workflow: BpmnWorkflow = SERIALIZER.from_dict(dct)
    return workflow


def _task_mappings(dct: dict[str, Any]) -> list[dict[str, dict[str, Any]]]:
    """The task mappings of a state document: the workflow's and each subprocess's."""
    return [dct["tasks"], *(sub["tasks"] for sub in dct.get("subprocesses", {}).values())]


def _parents(tasks: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each task's parent as the mapping's children lists say it."""
    return {child: task_id for task_id, task in tasks.items() for child in task["children"]}


def _compact_tasks(tasks: dict[str, dict[str, Any]]) -> None:
    """Leave out of each task what ``_expand_tasks`` gives back exactly."""
    for task_id, task in tasks.items():
        _drop_defaults(task_id, task)
    drop_listed_parents(tasks)


def _drop_defaults(task_id: str, task: dict[str, Any]) -> None:
    """Leave out a task's id (its key) and the values every new task has."""
    if task.get("id") == task_id:
        del task["id"]
    for key, default in _TASK_DEFAULTS.items():
        if key in task and task[key] == default and type(task[key]) is type(default):
            del task[key]


def drop_listed_parents(tasks: dict[str, dict[str, Any]]) -> None:
    """Leave out each task's parent where the mapping's children lists say it."""
    parents = _parents(tasks)
    for task_id, task in tasks.items():
        if "parent" in task and task["parent"] == parents.get(task_id):
            del task["parent"]


def _expand_tasks(tasks: dict[str, dict[str, Any]]) -> None:
    """Give each task of a compact mapping what ``_compact_tasks`` left out."""
    parents = _parents(tasks)
    for task_id, task in tasks.items():
        task.setdefault("id", task_id)
        task.setdefault("parent", parents.get(task_id))
        for key, default in _TASK_DEFAULTS.items():
            if key not in task:
                task[key] = type(default)()
