"""Move running cases of one version of a process to another (N → N+1) where it is safe.

A dry run lists every running case of version N and tells whether it can move and, when it
cannot, why. The rule (SpiffWorkflow's diff of the case's workflow against the new spec):

- a step the case is at (ready, waiting, started or in error) or has done must still exist;
- a step the case has done or is in the middle of (completed or started) must be unchanged — except
  the decision table of a business rule task the case has done: its result is in the case's data;
- every subprocess or called process the case has entered must still exist.

Steps the case has not reached yet may change freely. Migrating one case happens in the
engine's own unit of work (``Engine.instance_command``): the instance row is locked, the
workflow moved to the new spec, ``definition_id`` updated, the projections refreshed and the
event ``instance_migrated`` written — all in one transaction, or nothing when refused.
Timers the case waits on keep their due time unless their own definition changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.accounts.users import Actor
from engine.definitions.diff import definition_of
from engine.errors import EngineError, InstanceNotActive, PermissionDenied
from engine.operations.command_log import observed
from engine.runtime.migration_changes import CaseChanges, Versions, after_move, before_move
from engine.runtime.statuses import ACTIVE
from engine.store.models import OPEN_TASK, ProcessDefinition, ProcessInstance, Task
from engine.store.serialization import SERIALIZER, ProcessSpecs, state_from_document
from engine.store.state_store import stored_state

if TYPE_CHECKING:
    from engine.runtime.engine import Engine

#: Cases in these states are "running" for a migration: they still have work ahead.
MIGRATABLE = frozenset({ACTIVE, "suspended", "error"})
#: Who may migrate cases.
_REACHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR | TaskState.COMPLETED
_DONE = TaskState.COMPLETED | TaskState.STARTED


class MigrationRefused(EngineError):
    """The case cannot move to the other version; ``reasons`` say why."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message, reasons=reasons)
        self.reasons = reasons


@dataclass(frozen=True)
class CaseCheck:
    """Whether one case can move to the target version, and why not."""

    instance_id: int
    business_number: str
    status: str
    current_step: str | None
    reasons: tuple[str, ...] = ()
    #: What the move changes for the case (None when it cannot move).
    changes: CaseChanges | None = None

    @property
    def can_migrate(self) -> bool:
        """Tell whether nothing stands in the way."""
        return not self.reasons


@dataclass
class MigrationPlan:
    """The dry run: every running case of ``from_version`` and whether it can move."""

    process_key: str
    from_version: int
    to_version: int
    cases: list[CaseCheck] = field(default_factory=list)

    @property
    def movable(self) -> list[CaseCheck]:
        """The cases that can move."""
        return [c for c in self.cases if c.can_migrate]

    @property
    def blocked(self) -> list[CaseCheck]:
        """The cases that cannot move."""
        return [c for c in self.cases if not c.can_migrate]


def plan_migration(
    engine: Engine, process_key: str, from_version: int, to_version: int | None = None
) -> MigrationPlan:
    """Dry run: check every running case of ``from_version`` against ``to_version`` (default N+1)."""
    target_version = from_version + 1 if to_version is None else to_version
    with engine.sessions() as session:
        source = definition_of(session, process_key, from_version)
        target = definition_of(session, process_key, target_version)
        instances = list(
            session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.definition_id == source.id, ProcessInstance.status.in_(MIGRATABLE))
                .order_by(ProcessInstance.id)
            )
        )
        plan = MigrationPlan(process_key, from_version, target_version)
        new_specs = engine.definitions.specs(target)
        old_specs = engine.definitions.specs(source)
        versions = Versions(engine, source, target)
        for instance in instances:
            changes = None
            try:
                workflow = state_from_document(stored_state(session, instance).document(), old_specs)
                workflow.script_engine = engine.script_engine
                reasons, diffs = blocking_reasons(workflow, new_specs)
                if not reasons:
                    changes = _changes_for(workflow, new_specs, diffs, versions)
            except Exception as error:  # a state that cannot be read cannot be moved
                reasons = [f"the case's state cannot be read: {type(error).__name__}: {error}"]
            plan.cases.append(
                CaseCheck(
                    instance.id,
                    instance.business_number,
                    instance.status,
                    instance.current_step,
                    tuple(reasons),
                    changes,
                )
            )
    return plan


def _changes_for(
    workflow: BpmnWorkflow,
    new_specs: ProcessSpecs,
    diffs: tuple[WorkflowDiff, dict[str, WorkflowDiff | None]],
    versions: Versions,
) -> CaseChanges:
    """Move the (throw-away) ``workflow`` as the migration would and say what changed for the case."""
    try:
        before = before_move(workflow, versions)
        _move(workflow, new_specs, *diffs)
        return after_move(workflow, versions, before)
    except Exception as error:  # the preview must not stop a case that can move from moving
        return CaseChanges(unknown=(f"{type(error).__name__}: {error}",))


def blocking_reasons(
    workflow: BpmnWorkflow, new_specs: ProcessSpecs
) -> tuple[list[str], tuple[WorkflowDiff, dict[str, WorkflowDiff | None]]]:
    """Why ``workflow`` cannot move to ``new_specs`` ([] when it can), and the diffs computed."""
    top, subs = diff_workflow(SERIALIZER.registry, workflow, new_specs.spec, new_specs.subprocess_specs)
    reasons = _diff_reasons(top)
    for sp_id, sp_diff in subs.items():
        if sp_diff is None:
            sub = workflow.subprocesses.get(sp_id)
            name = sub.spec.name if sub is not None else str(sp_id)
            reasons.append(f"the subprocess or called process '{name}' the case is in no longer exists")
        else:
            reasons.extend(_diff_reasons(sp_diff))
    return list(dict.fromkeys(reasons)), (top, subs)


def _diff_reasons(diff: WorkflowDiff) -> list[str]:
    reasons: list[str] = []
    for task in diff.removed:
        if not task.has_state(_REACHED) or _internal(task):
            continue
        if task.has_state(TaskState.COMPLETED):
            reasons.append(f"the step {_label(task)} the case has done no longer exists")
        else:
            reasons.append(f"its current step {_label(task)} no longer exists")
    for task in diff.changed:
        if task.has_state(_DONE) and not _internal(task) and not _only_table_changed(task, diff):
            state = "has done" if task.has_state(TaskState.COMPLETED) else "is in the middle of"
            reasons.append(f"the step {_label(task)} was changed and the case {state} it")
    return reasons


def _only_table_changed(task: SpiffTask, diff: WorkflowDiff) -> bool:
    """Tell whether a done step changed only in its decision table (the case keeps what it decided)."""
    new_spec = diff.alignment.get(task)
    if new_spec is None or not task.has_state(TaskState.COMPLETED):
        return False
    old, new = SERIALIZER.registry.convert(task.task_spec), SERIALIZER.registry.convert(new_spec)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)} <= {"decision_table"}


def _internal(task: SpiffTask) -> bool:
    """SpiffWorkflow's own bookkeeping specs (Root, Start, End, …) are not steps of the diagram."""
    return getattr(task.task_spec, "bpmn_id", None) is None


def _label(task: SpiffTask) -> str:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None)
    element = spec.bpmn_id or spec.name
    return f"'{name}' ({element})" if name else f"'{element}'"


@observed("migrate")
def migrate_instance(engine: Engine, instance_id: int, to_version: int, actor: Actor, reason: str) -> int:
    """Move one case to ``to_version`` of its process (all or nothing); return its old version.

    Raises ``MigrationRefused`` (nothing changed) when the case cannot move.
    """
    if not (engine.config.migrator_roles & actor.roles):
        raise PermissionDenied("only a process owner can move cases to another version")
    if not reason.strip():
        raise EngineError("a reason is required")
    with engine.instance_command(instance_id, actor) as ctx:
        instance = ctx.instance
        source: ProcessDefinition = instance.definition
        if instance.status not in MIGRATABLE:
            raise InstanceNotActive(
                f"the case is {instance.status}; only running cases move", status=instance.status
            )
        target = definition_of(ctx.session, instance.process_key, to_version)
        if target.id == source.id:
            raise MigrationRefused("the case already runs this version", reasons=["already on this version"])
        new_specs = engine.definitions.specs(target)
        reasons, (top, subs) = blocking_reasons(ctx.workflow, new_specs)
        if reasons:
            raise MigrationRefused(f"{instance.business_number} cannot move: {'; '.join(reasons)}", reasons)
        ctx.rewrite_whole_state()
        _move(ctx.workflow, new_specs, top, subs)
        instance.definition = target
        ctx.meta = target.meta
        _refresh_open_tasks(ctx.session, instance.id, target.meta)
        ctx.record(
            "instance_migrated",
            data={
                "from_version": source.version,
                "to_version": target.version,
                "from_definition": source.id,
                "to_definition": target.id,
                "reason": reason,
            },
        )
        if instance.status == ACTIVE:
            engine.run_engine_steps(ctx)  # a step the new version adds right here runs now
        return source.version


def _move(
    workflow: BpmnWorkflow,
    new_specs: ProcessSpecs,
    top: WorkflowDiff,
    subs: dict[Any, WorkflowDiff | None],
) -> None:
    """Put the workflow on the new specs; keep the due time of timers whose definition is unchanged."""
    changed = {t.id for t in top.changed} | {t.id for d in subs.values() if d for t in d.changed}
    waiting = {
        t.id: t.internal_data.get("event_value")
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if t.id not in changed and "event_value" in t.internal_data
    }
    migrate_workflow(top, workflow, new_specs.spec)
    for sp_id, sp_diff in subs.items():
        sub = workflow.subprocesses[sp_id]
        if sp_diff is not None:
            migrate_workflow(sp_diff, sub, new_specs.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = dict(new_specs.subprocess_specs)
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task.id in waiting:
            task.internal_data["event_value"] = waiting[task.id]


def _refresh_open_tasks(session: Any, instance_id: int, meta: dict[str, Any]) -> None:
    """Open task rows keep their id (and claim): take their role and form from the new version."""
    tasks_meta: dict[str, Any] = meta.get("tasks", {})
    for row in session.scalars(select(Task).where(Task.instance_id == instance_id, OPEN_TASK)):
        info = tasks_meta.get(row.spec_id)
        if info is None:
            continue
        row.role = info.get("role") or meta.get("lanes", {}).get(row.spec_id) or row.role
        row.form_key = info.get("form")
