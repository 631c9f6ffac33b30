"""The unit of work of every command: lock the case, load its workflow, and save it all at once.

A command that is refused raises before the save and the transaction rolls back, so the
case is exactly as it was. A failure inside the engine *after* the user's input was accepted
does not roll the input back: the case is saved in the ``error`` state (``steps.mark_error``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, lazyload, undefer
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.accounts.users import Actor
from engine.audit.chain import event_id_columns, hold_case
from engine.calendar import store as calendar_store
from engine.calendar.due_basis import noting_due_times
from engine.errors import ConcurrentModification, EngineError, NotFound
from engine.operations.command_log import note_case
from engine.runtime import guards, instances, steps
from engine.runtime.statuses import ACTIVE, COMPLETED
from engine.runtime.workflow_cache import Baseline
from engine.sandbox.limits import command_budget
from engine.sandbox.storable import first_unstorable
from engine.store.compressed_text import compress_text
from engine.store.models import Event, ProcessDefinition, ProcessInstance, Task
from engine.store.projection import ProjectionError, TimerJobs, ready_human_tasks, sync_instance, timer_jobs
from engine.store.serialization import state_from_document, state_to_json
from engine.store.state_delta import fingerprints, state_change
from engine.store.state_store import (
    CHANGES_PER_SNAPSHOT,
    append_change,
    compress_change,
    next_window,
    stored_state,
    write_snapshot,
)
from engine.store.task_scan import is_completed

if TYPE_CHECKING:
    from engine.runtime.engine import Engine


class CommandState:
    """The state a command works on inside its transaction."""

    def __init__(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        meta: dict[str, Any],
        actor: Actor,
    ) -> None:
        self.session = session
        self.instance = instance
        self.workflow = workflow
        self.meta = meta
        self.actor = actor
        self.new_timers = 0
        self.thrown: list[tuple[str, dict[str, Any]]] = []
        self.depth = 0
        #: The case was created by this command (``instances.start_in``): it has no rows to read yet.
        self.created = False
        #: When the command began (``time.time()``, as SpiffWorkflow stamps task state changes), less a second.
        self.began = time.time() - 1.0  # a second early: a clock step back cannot hide a change
        #: The rules the decisions run by this command chose, by business rule task.
        self.decisions: dict[str, dict[str, Any]] = {}
        #: The case's open task rows, when the command holds them all already (``task_command`` on a
        #: case waiting for that one task): the projection then reads no task rows.
        self.open_rows: list[Task] | None = None
        #: The jobs of the case's timers when the command began, when it looked (``task_command``):
        #: the projection then reads no jobs.
        self.timers_before: TimerJobs | None = None
        #: What the case's stored state is made of as loaded (None for a new case): the save writes
        #: only what changed since (``engine.store.state_delta``).
        self.baseline: Baseline | None = None
        #: Set when the engine changed the workflow outside SpiffWorkflow's own run (an administrator's
        #: command, retimed timers, a move to another version): the save writes a whole snapshot.
        self.whole_state = False

    def rewrite_whole_state(self) -> None:
        """Have the save write the whole state (the command changed the workflow outside SpiffWorkflow's run)."""
        self.whole_state = True

    def record(
        self,
        action: str,
        task_id: str | None = None,
        element_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit event (in the command's transaction, in the order things happened)."""
        self.session.add(
            Event(
                instance_id=self.instance.id,
                task_id=task_id,
                element_id=element_id,
                actor=self.actor.username,
                action=action,
                at=clock.now(),
                data=data,
            )
        )


@contextmanager
def instance_command(engine: Engine, instance_id: int, actor: Actor) -> Iterator[CommandState]:
    """Lock, load and (on leaving the block) save one case."""
    with _command(engine, actor, lambda session: lock_instance(session, instance_id)) as ctx:
        yield ctx


@contextmanager
def _command(
    engine: Engine, actor: Actor, lock: Callable[[Session], tuple[ProcessInstance, int]]
) -> Iterator[CommandState]:
    """Lock the case ``lock`` finds, load its workflow (kept or restored), and save it at the end.

    ``lock`` reads the company calendar's revision with the case's row, in the same statement.
    """
    with engine.writer.begin() as session, noting_due_times():
        instance, calendar_revision = lock(session)
        engine.refresh_calendar(session, calendar_revision)
        note_case(instance.business_number)
        definition = instance.definition
        workflow, baseline = load_workflow(engine, session, instance)
        workflow.script_engine = engine.script_engine
        ctx = CommandState(session, instance, workflow, engine.definitions.meta(definition), actor)
        ctx.baseline = baseline
        # One flush at the save: a query inside the command does not write what it changed so far
        # (each early flush cost its own statements, and the audit chain's head twice).
        with command_budget(engine.limits), session.no_autoflush:
            yield ctx
            save(engine, ctx)
    after_commit(engine, ctx)


@contextmanager
def task_command(engine: Engine, task_id: str, actor: Actor) -> Iterator[tuple[CommandState, Task]]:
    """Lock the case of an open task of a running case, and hand over both.

    The case and the task are read and locked together, in one statement (no look-up first,
    no second read): a command that held the lock before may just have changed the task, and
    locking the task's row too makes PostgreSQL read its newest version once the lock is ours.
    """
    rows: list[Task] = []

    def lock(session: Session) -> tuple[ProcessInstance, int]:
        instance, revision, row = lock_instance_and_task(session, task_id)
        rows.append(row)
        return instance, revision

    with _command(engine, actor, lock) as ctx:
        row = rows[0]
        guards.check_open(row)
        guards.require_active(ctx.instance)
        # Every command leaves one open row per ready human task: when the task is the case's only
        # ready one, its locked row is the only open row.
        if [str(task.id) for task in ready_human_tasks(ctx.workflow)] == [row.id]:
            ctx.open_rows = [row]
        # Likewise an open job per waiting timer and a closed one per fired timer.
        ctx.timers_before = timer_jobs(ctx.workflow, ctx.began)
        yield ctx, row


def lock_instance(session: Session, instance_id: int) -> tuple[ProcessInstance, int]:
    """Read a case row for update (``SELECT … FOR UPDATE`` where the database has it), and the calendar's revision."""
    found = session.execute(
        select(ProcessInstance, calendar_store.revision_column(), *event_id_columns(session))
        .options(undefer(ProcessInstance.facts), _DEFINITION_WITHOUT_META)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        raise NotFound("no such case")
    hold_case(session, found[0], found[2:])
    return found[0], found[1] or 0


def lock_instance_and_task(session: Session, task_id: str) -> tuple[ProcessInstance, int, Task]:
    """Read a task's row and its case's row for update, and the calendar's revision, in one statement.

    ``NotFound`` when there is no such task.
    """
    found = session.execute(
        select(ProcessInstance, Task, calendar_store.revision_column(), *event_id_columns(session))
        .join(Task, Task.instance_id == ProcessInstance.id)
        .options(undefer(ProcessInstance.facts), _DEFINITION_WITHOUT_META, _TASK_ONLY)
        .where(Task.id == task_id)
        .with_for_update(of=[ProcessInstance, Task])
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        raise NotFound("no such task")
    hold_case(session, found[0], found[3:])
    return found[0], found[2] or 0, found[1]


_TASK_ONLY = lazyload(Task.instance)
#: The version's metadata comes from ``engine.definitions`` (read once per version), not with every command.
_DEFINITION_WITHOUT_META = joinedload(ProcessInstance.definition).defer(ProcessDefinition.meta)


def load_workflow(
    engine: Engine, session: Session, instance: ProcessInstance
) -> tuple[BpmnWorkflow, Baseline]:
    """The case's workflow as kept for its row's lock version and state save, else restored from its stored state.

    A kept workflow is taken without reading the stored state at all; a restore reads the
    snapshot and the changes after it in one statement.
    """
    kept = engine.workflows.take(
        instance.id, instance.lock_version, instance.definition_id, instance.state_seq
    )
    if kept is not None:
        return kept
    stored = stored_state(session, instance)
    workflow = state_from_document(stored.document(), engine.definitions.specs(instance.definition))
    baseline = Baseline(
        fingerprints(workflow),
        stored.snapshot_bytes,
        stored.change_bytes,
        len(stored.changes),
        stored.window,
    )
    return workflow, baseline


def locked_task(session: Session, task_id: str) -> Task:
    """Read a task row afresh inside the command's transaction."""
    row = session.scalar(select(Task).where(Task.id == task_id).execution_options(populate_existing=True))
    if row is None:
        raise NotFound("no such task")
    return row


def save(engine: Engine, ctx: CommandState) -> None:
    """Refresh the projections, store the new state with a version check, then start linked cases."""
    instance, workflow = ctx.instance, ctx.workflow
    new_timers = 0
    try:
        new_timers = sync_instance(
            ctx.session,
            instance,
            workflow,
            ctx.meta,
            engine.task_rules,
            ctx.actor.username,
            decisions=ctx.decisions,
            created=ctx.created,
            since=ctx.began,
            open_rows=ctx.open_rows,
            timers_before=ctx.timers_before,
        )
    except ProjectionError as error:
        steps.mark_error(ctx, error)
    if instance.status == ACTIVE and is_completed(workflow):
        instance.status, instance.ended_at = COMPLETED, clock.now()
        ctx.record("instance_completed")
    store_state(engine, ctx)
    instance.updated_at = clock.now()
    try:
        ctx.session.flush()  # the mapper's version column makes this UPDATE ... AND lock_version = :seen
    except StaleDataError:
        raise ConcurrentModification("the case was changed by someone else; reload and try again")
    ctx.new_timers = new_timers
    instances.start_linked_cases(engine, ctx)


def store_state(engine: Engine, ctx: CommandState) -> None:
    """Write what the command changed in the case's state, or a whole snapshot; note the new baseline.

    A snapshot is written for a new case, after a change made outside SpiffWorkflow's run, every
    ``CHANGES_PER_SNAPSHOT`` changes, once the stored changes would outgrow the stored snapshot,
    and when the workflow holds a value case data cannot keep.
    """
    baseline = ctx.baseline
    if not ctx.whole_state and baseline is not None and baseline.changes < CHANGES_PER_SNAPSHOT:
        try:
            found = state_change(ctx.workflow, baseline.prints)
        except (TypeError, ValueError, OverflowError, RecursionError):
            found = None
        if found is not None:
            text, prints = found
            body = compress_change(text, baseline.window)
            if baseline.change_bytes + len(body) <= baseline.snapshot_bytes:
                append_change(ctx.session, ctx.instance, body)
                ctx.baseline = Baseline(
                    prints,
                    baseline.snapshot_bytes,
                    baseline.change_bytes + len(body),
                    baseline.changes + 1,
                    next_window(baseline.window, text),
                )
                return
    text = storable_state(engine, ctx)
    write_snapshot(ctx.session, ctx.instance, text)
    ctx.baseline = Baseline(
        fingerprints(ctx.workflow), len(compress_text(text)), 0, 0, next_window(b"", text)
    )


def storable_state(engine: Engine, ctx: CommandState) -> str:
    """Serialize the workflow; a value case data cannot keep puts the case in error, naming it.

    The value is left out of the saved state (it could not be saved at all otherwise), so
    the case, its start and the error are recorded instead of the command failing.
    """
    try:
        return state_to_json(ctx.workflow)
    except (TypeError, ValueError, OverflowError, RecursionError):
        pass
    dropped: list[str] = []
    for data in [ctx.workflow.data, *(task.data for task in ctx.workflow.get_tasks())]:
        while (found := first_unstorable(data, engine.limits.max_items)) is not None:
            name, reason = found
            del data[name]
            if name not in dropped:
                dropped.append(name)
                steps.mark_error(
                    ctx,
                    EngineError(
                        f"the variable '{name}' cannot be kept in case data ({reason}); it was left out"
                    ),
                    element=_last_run_element(ctx.workflow),
                )
    return state_to_json(ctx.workflow)


def _last_run_element(workflow: BpmnWorkflow) -> str | None:
    """The element that ran last (the likeliest to have left a value behind)."""
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
    if not done:
        return None
    last = max(done, key=lambda t: t.last_state_change)
    return str(last.task_spec.bpmn_id)


def after_commit(engine: Engine, ctx: CommandState) -> None:
    """Keep the saved workflow for the case's next command; wake a runner for a timer this command created."""
    instance = ctx.instance
    if ctx.baseline is None:
        engine.workflows.forget(instance.id)
    else:
        engine.workflows.keep(
            instance.id,
            instance.lock_version,
            instance.definition_id,
            instance.state_seq,
            ctx.workflow,
            ctx.baseline,
            ctx.began,
        )
    if ctx.new_timers:
        engine.wakeup.set()


def jsonable(value: Any) -> Any:
    """Return ``value`` with everything JSON cannot hold turned into text (dates as ISO)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
