"""What moving one case to another version changes for it, worked out without touching the case.

The dry run of a migration shows, for each case that can move:

- the step it will be on: its open steps under their names in the target version;
- the fields it will be asked for: fields the target version makes required on its open steps and
  on the next steps it will reach (up to the next person's step on every path), that the source
  version did not require there;
- the limits and due times recomputed: the decisions it has still to take before those next steps
  (a business rule task's pre-script, decision table and post-script, run on a copy of the case's
  data under both versions), where the results differ — a due time a post-script works out from a
  limit reads as a date; and the timers it waits on whose definition changed (the migration counts
  them again from the moment it moves the case).

Everything runs on a throw-away copy of the case's workflow: nothing is written, no service is called.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.definitions.forms import FormDefinition, parse_form
from engine.store.models import ProcessDefinition
from engine.store.projection import _timer_due

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

#: The walk to the next steps stops after this many elements (a diagram has at most a few hundred).
_MAX_WALK = 2000
_OPEN = TaskState.READY | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True)
class StepOn:
    """A step the case will be on after the move, under its name in either version."""

    element_id: str
    old_name: str
    new_name: str


@dataclass(frozen=True)
class FieldAsked:
    """A field the target version requires on a step, which the source version did not require there."""

    element_id: str
    step_name: str
    key: str
    label_zh: str
    label_en: str
    #: "current" (a step the case is on) or "next" (a step it reaches next).
    when: str


@dataclass(frozen=True)
class ValueChange:
    """A value a decision (or a timer) gives the case: under the source version → under the target."""

    element_id: str
    step_name: str
    variable: str
    old: Any
    new: Any

    @property
    def is_time(self) -> bool:
        """Tell whether both sides are points in time (a due time rather than a limit)."""
        return self.old_time is not None and self.new_time is not None

    @property
    def old_time(self) -> datetime | None:
        """The old value as a point in time, or None."""
        return _as_datetime(self.old)

    @property
    def new_time(self) -> datetime | None:
        """The new value as a point in time, or None."""
        return _as_datetime(self.new)


@dataclass(frozen=True)
class CaseChanges:
    """What the move changes for one case."""

    steps: tuple[StepOn, ...] = ()
    fields: tuple[FieldAsked, ...] = ()
    limits: tuple[ValueChange, ...] = ()
    due_times: tuple[ValueChange, ...] = ()
    #: Decisions that could not be worked out on the case's data, with why.
    unknown: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Tell whether nothing the case is asked for or runs against changes."""
        return not (self.fields or self.limits or self.due_times or self.unknown)


@dataclass(frozen=True)
class Versions:
    """The two versions a case moves between: rows, metadata and the engine that reads their forms."""

    engine: Engine
    source: ProcessDefinition
    target: ProcessDefinition

    def meta(self, new: bool) -> dict[str, Any]:
        """The metadata (tasks, lanes, forms) of the target (``new``) or the source version."""
        return self.engine.definitions.meta(self.target if new else self.source)

    def form(self, element_id: str, new: bool) -> FormDefinition | None:
        """The form a step shows in one version, or None."""
        key = self.meta(new).get("tasks", {}).get(element_id, {}).get("form")
        if not key:
            return None
        return self.engine.definitions.form(self.target if new else self.source, key, parse_form)


def before_move(workflow: BpmnWorkflow, versions: Versions) -> dict[str, Any]:
    """What the case runs against now: its timers' due times, and its upcoming decisions' results."""
    return {
        "timers": _timer_dues(workflow),
        "decisions": _upcoming_decisions(workflow, versions, new=False),
    }


def after_move(workflow: BpmnWorkflow, versions: Versions, before: Mapping[str, Any]) -> CaseChanges:
    """Compare the moved copy of the case (``workflow``) with what ``before_move`` noted."""
    workflow.refresh_waiting_tasks()  # timers whose definition changed are counted again, as on moving
    open_tasks = _open_human_tasks(workflow, versions.meta(True))
    steps = tuple(
        StepOn(_element(t), _old_name(versions, _element(t)), t.task_spec.bpmn_name or _element(t))
        for t in open_tasks
    )
    decided = _upcoming_decisions(workflow, versions, new=True)
    limits, due_times, unknown = _decision_changes(before["decisions"], decided)
    return CaseChanges(
        steps=steps,
        fields=tuple(_fields_asked(workflow, versions, open_tasks)),
        limits=tuple(limits),
        due_times=tuple(due_times) + tuple(_timer_changes(workflow, before["timers"])),
        unknown=tuple(unknown),
    )


# --- steps and fields ---------------------------------------------------------------------------


def _element(task: SpiffTask) -> str:
    return str(task.task_spec.bpmn_id or task.task_spec.name)


def _old_name(versions: Versions, element_id: str) -> str:
    return str(versions.meta(False).get("elements", {}).get(element_id, element_id))


def _open_human_tasks(workflow: BpmnWorkflow, meta: Mapping[str, Any]) -> list[SpiffTask]:
    human = meta.get("tasks", {})
    return [t for t in workflow.get_tasks(state=_OPEN) if t.task_spec.bpmn_id in human]


def _fields_asked(
    workflow: BpmnWorkflow, versions: Versions, open_tasks: list[SpiffTask]
) -> Iterable[FieldAsked]:
    human = versions.meta(True).get("tasks", {})
    seen: set[str] = set()
    current = [(_element(t), t.task_spec.bpmn_name or _element(t), "current") for t in open_tasks]
    ahead = [
        (str(spec.bpmn_id), spec.bpmn_name or str(spec.bpmn_id), "next")
        for spec in _ahead(open_tasks, lambda s: s.bpmn_id in human)
    ]
    for element_id, name, when in [*current, *ahead]:
        if element_id in seen:
            continue
        seen.add(element_id)
        new_form = versions.form(element_id, True)
        if new_form is None:
            continue
        old_form = (
            versions.form(element_id, False) if element_id in versions.meta(False).get("tasks", {}) else None
        )
        required_before = {f.key for f in old_form.data_fields if f.required} if old_form else set()
        for field in new_form.data_fields:
            if field.required and field.key not in required_before:
                yield FieldAsked(element_id, name, field.key, field.label_zh, field.label_en, when)


def _ahead(open_tasks: list[SpiffTask], stop: Any) -> list[Any]:
    """The specs after the open tasks, up to (and with) the first one ``stop`` accepts on each path."""
    found: list[Any] = []
    seen: set[int] = set()
    queue = [out for task in open_tasks for out in task.task_spec.outputs]
    while queue and len(seen) < _MAX_WALK:
        spec = queue.pop(0)
        if id(spec) in seen:
            continue
        seen.add(id(spec))
        if spec.bpmn_id is not None and stop(spec):
            found.append(spec)
            continue
        if spec.bpmn_id is not None and hasattr(spec, "dmnEngine"):
            found.append(spec)
        queue.extend(spec.outputs)
    return found


# --- decisions and timers -----------------------------------------------------------------------


def _upcoming_decisions(workflow: BpmnWorkflow, versions: Versions, new: bool) -> dict[str, Any]:
    """Each decision before the next people's steps, run on a copy of the case's data.

    Returns {element: (step name, what it sets)}; what it sets is a sentence when it fails.
    """
    human = versions.meta(new).get("tasks", {})
    open_tasks = [t for t in workflow.get_tasks(state=_OPEN) if t.task_spec.bpmn_id in human]
    results: dict[str, Any] = {}
    for spec in _ahead(open_tasks, lambda s: s.bpmn_id in human):
        if not hasattr(spec, "dmnEngine") or not open_tasks:
            continue
        results[str(spec.bpmn_id)] = (
            spec.bpmn_name or str(spec.bpmn_id),
            _decide(workflow, spec, open_tasks[0].data),
        )
    return results


def _decide(workflow: BpmnWorkflow, spec: Any, data: Mapping[str, Any]) -> dict[str, Any] | str:
    """What a business rule task would set: its pre-script, table and post-script on a copy of ``data``."""
    task = SimpleNamespace(
        data=copy.deepcopy(dict(data)), task_spec=spec, workflow=workflow, internal_data={}
    )
    engine = workflow.script_engine
    try:
        if getattr(spec, "prescript", None):
            engine.execute(task, spec.prescript)
        task.data = DeepMerge.merge(task.data, spec.dmnEngine.result(task))
        if getattr(spec, "postscript", None):
            engine.execute(task, spec.postscript)
    except Exception as error:  # the case's data may not hold what the decision reads yet
        return f"{spec.bpmn_name or spec.bpmn_id}: {error}"
    return {k: v for k, v in task.data.items() if k not in data or data[k] != v}


def _decision_changes(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[ValueChange], list[ValueChange], list[str]]:
    limits: list[ValueChange] = []
    due_times: list[ValueChange] = []
    unknown: list[str] = []
    for element_id, (name, result) in new.items():
        before = old.get(element_id, (None, None))[1]
        if isinstance(result, str):
            unknown.append(result)
            continue
        if not isinstance(before, dict):
            continue  # a decision the source version does not take there: nothing to compare
        for variable in sorted(set(result) | set(before)):
            was, now = before.get(variable), result.get(variable)
            if was == now:
                continue
            change = ValueChange(element_id, name, variable, was, now)
            (due_times if change.is_time else limits).append(change)
    return limits, due_times, unknown


def _timer_dues(workflow: BpmnWorkflow) -> dict[str, tuple[str, datetime]]:
    dues: dict[str, tuple[str, datetime]] = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        due = _timer_due(task)
        if due is not None:
            dues[str(task.id)] = (_element(task), due)
    return dues


def _timer_changes(workflow: BpmnWorkflow, before: Mapping[str, tuple[str, datetime]]) -> list[ValueChange]:
    changes = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        due = _timer_due(task)
        old = before.get(str(task.id))
        if due is not None and old is not None and old[1] != due:
            changes.append(ValueChange(old[0], task.task_spec.bpmn_name or old[0], "due", old[1], due))
    return changes


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) < 16 or value[4:5] != "-":
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
