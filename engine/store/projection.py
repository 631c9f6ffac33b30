"""Keep the ``task`` and ``job`` rows and the instance's list fields in step with its workflow.

Called at the end of every command, inside its transaction, so queries never need to
deserialize a workflow. Work is proportional to the instance's own open tasks and timers.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, lazyload

from engine import clock
from engine.calendar.due_basis import basis_of
from engine.store.models import OPEN_TASK, Event, Job, ProcessInstance, SlaBreach, Task
from engine.store.task_scan import tasks_in_state, tree_ordered

#: The instance's list columns that case data may fill (``TaskRules.list_fields`` says from which keys).
LIST_COLUMNS = ("customer_name", "product", "priority")


class ProjectionError(Exception):
    """A task's due-time or assignee expression failed; names the element."""

    def __init__(self, element_id: str, message: str) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.message = message


@dataclass(frozen=True)
class TaskRules:
    """How to evaluate a human task's due time and assignee from its metadata."""

    evaluate: Callable[[SpiffTask, str], Any]
    to_datetime: Callable[[Any], datetime]
    #: Per list column, the case-data keys that fill it (the first one present wins).
    list_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Case-data keys kept on the case row (``ProcessInstance.facts``).
    fact_keys: tuple[str, ...] = ()


def ready_human_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    """Return the READY user/manual tasks of the workflow and its subprocesses (in tree order)."""
    return tasks_in_state(workflow, TaskState.READY, _is_manual)


def _is_manual(task: SpiffTask) -> bool:
    return bool(task.task_spec.manual)


def find_task(workflow: BpmnWorkflow, task_id: str) -> SpiffTask | None:
    """Return the workflow's task with this id, or None when it is gone (cancelled branches are dropped)."""
    try:
        task: SpiffTask = workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None
    return task


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[SpiffTask, datetime]]:
    """Return each timer the workflow waits for with its due time."""
    return [(task, due) for task in tasks_in_state(workflow, TaskState.WAITING) if (due := _timer_due(task))]


def fired_timers(workflow: BpmnWorkflow) -> list[tuple[SpiffTask, datetime]]:
    """Return each timer event of the workflow that has fired, with the time it was due."""
    return [
        (task, due)
        for task in tasks_in_state(workflow, TaskState.COMPLETED, _is_catching)
        if (due := _timer_due(task))
    ]


def _is_catching(task: SpiffTask) -> bool:
    return isinstance(task.task_spec, CatchingEvent)


@dataclass(frozen=True)
class TimerJobs:
    """The jobs a case's timers have when a command begins, as its workflow tells (see ``timer_jobs``)."""

    #: The open job of each waiting timer: its due time, by task id.
    open: Mapping[str, datetime]
    #: The timers fired since the command's ``since`` moment before it began (their jobs are closed).
    closed: frozenset[str]


def timer_jobs(workflow: BpmnWorkflow, since: float) -> TimerJobs:
    """The jobs the case's timers have: every command leaves an open job per waiting timer and a
    closed one per fired timer, so a command that looks at its workflow first need not read them."""
    if not has_timers(workflow):
        return TimerJobs({}, frozenset())
    scan = _Scan(workflow, since)
    return TimerJobs(
        {str(task.id): due for task, due in scan.waiting_timers()},
        frozenset(str(task.id) for task, _due in scan.completed_timers),
    )


def _element_of(task: SpiffTask) -> str:
    return str(task.task_spec.bpmn_id or task.task_spec.name)


def _timer_due(task: SpiffTask) -> datetime | None:
    """The due time of a timer event — or of an event-based gateway waiting on one — else None."""
    if not _is_timer_spec(task.task_spec):
        return None
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # cycle timers keep {"cycles", "next", "duration"}
        value = value.get("next")
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


class _Scan:
    """The tasks the projections look at, found in one pass over the workflow's task dicts.

    The ready and waiting tasks are in tree order (the first ready task fills the list
    fields). ``since``: only the timers completed at or after this ``time.time()`` are looked
    at — those a command completed; earlier ones have their job rows already.
    """

    def __init__(self, workflow: BpmnWorkflow, since: float | None = None) -> None:
        ready, waiting, completed = TaskState.READY, TaskState.WAITING, TaskState.COMPLETED
        self.ready_human: list[SpiffTask] = []
        self.waiting: list[SpiffTask] = []
        timers: list[SpiffTask] = []
        for tasks in (workflow.tasks, *(sub.tasks for sub in workflow.subprocesses.values())):
            for task in tasks.values():
                state = task._state  # the property costs a call per task of the case's history
                if state == ready:
                    if task.task_spec.manual:
                        self.ready_human.append(task)
                elif state == waiting:
                    self.waiting.append(task)
                elif (
                    state == completed
                    and (since is None or task.last_state_change >= since)
                    and isinstance(task.task_spec, CatchingEvent)
                ):
                    timers.append(task)
        self.ready_human = tree_ordered(self.ready_human)
        self.waiting = tree_ordered(self.waiting)
        self.completed_timers: list[tuple[SpiffTask, datetime]] = [
            (task, due) for task in tree_ordered(timers) if (due := _timer_due(task))
        ]

    def waiting_timers(self) -> list[tuple[SpiffTask, datetime]]:
        return [(task, due) for task in self.waiting if (due := _timer_due(task))]


def sync_instance(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    meta: dict[str, Any],
    rules: TaskRules,
    actor: str | None,
    decisions: Mapping[str, dict[str, Any]] | None = None,
    created: bool = False,
    since: float | None = None,
    open_rows: list[Task] | None = None,
    timers_before: TimerJobs | None = None,
) -> int:
    """Bring task and job rows, list fields and facts in line with the workflow; return the new timer count.

    ``created``: the case was created in this transaction, so it has no rows to read yet.
    ``since``: when the command began (``time.time()``): a timer completed before then has its job.
    ``open_rows``: the case's open task rows when the command holds them all already. Its ready
    tasks that are not among them are new then: a task comes back to READY only through a
    retry or a reset, which read the rows.
    ``timers_before``: the jobs of the case's timers when the command began (``timer_jobs``): the
    jobs are not read then.

    The rows are read first and every change is written by one flush at the end (rows of a
    table together), so the refresh costs at most two reads — one when the process has no
    timers, none for a task command on a case waiting for that one task — and a few batched
    writes, however many tasks moved.
    """
    now = clock.now()
    scan = _Scan(workflow, since)
    with session.no_autoflush:
        open_tasks = _sync_tasks(
            session, instance, workflow, scan, meta, rules, actor, now, created, open_rows
        )
        new_timers, breached = 0, False
        if has_timers(workflow):
            new_timers, breached = (
                _sync_jobs(session, instance, workflow, scan, meta, now, created)
                if created or timers_before is None
                else _sync_known_jobs(session, instance, workflow, scan, meta, now, timers_before)
            )
    instance.due_at = min((t.due_at for t in open_tasks if t.due_at is not None), default=None)
    _sync_list_fields(instance, workflow, scan, meta, rules.list_fields)
    if rules.fact_keys or decisions:
        with session.no_autoflush:  # a row read without its facts must not be written twice
            known = instance.facts
        _sync_facts(instance, known, workflow, scan, rules.fact_keys, decisions or {})
    if breached:
        instance.late = True
    return new_timers


#: Whether a process spec (with the subprocess specs it was seen with) has timers: held only as
#: long as the spec lives, so a spec made later at the same address is never taken for it.
_timer_specs: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], bool]] = weakref.WeakKeyDictionary()


def has_timers(workflow: BpmnWorkflow) -> bool:
    """Tell whether the workflow's process (or a process it calls) has any timer event at all."""
    subprocess_specs = tuple(workflow.subprocess_specs.values())
    known = _timer_specs.get(workflow.spec)
    # The specs held in ``known`` are alive, so comparing the tuples compares them one by one as
    # the same objects (a spec has no ``__eq__`` of its own).
    if known is not None and known[0] == subprocess_specs:
        return known[1]
    found = any(
        _is_timer_spec(task_spec)
        for spec in (workflow.spec, *subprocess_specs)
        for task_spec in spec.task_specs.values()
    )
    _timer_specs[workflow.spec] = (subprocess_specs, found)
    return found


def _is_timer_spec(spec: Any) -> bool:
    """Tell a timer event (or one of several events, one a timer) from every other task spec."""
    if not isinstance(spec, CatchingEvent):
        return False
    definition = spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        return any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions)
    return isinstance(definition, TimerEventDefinition)


def _sync_tasks(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    scan: _Scan,
    meta: dict[str, Any],
    rules: TaskRules,
    actor: str | None,
    now: datetime,
    created: bool = False,
    known_open: list[Task] | None = None,
) -> list[Task]:
    """Open a row per new READY human task, close rows whose task moved on; return the open rows.

    ``known_open``: the case's open rows, held by the command already (nothing to read).
    """
    ready = {str(t.id): t for t in scan.ready_human}
    # One read: the open rows, and the rows of ready tasks that were open before (a loop, a retry).
    rows = (
        {}
        if created
        else {row.id: row for row in known_open}
        if known_open is not None
        else {
            row.id: row
            for row in session.scalars(
                select(Task)
                .where(Task.instance_id == instance.id, or_(OPEN_TASK, Task.id.in_(list(ready))))
                .options(_TASK_WITHOUT_CASE)  # the case's row is in the session already
            )
        }
    )
    open_rows = {task_id: row for task_id, row in rows.items() if row.state == "open"}
    for task_id, row in open_rows.items():
        if task_id not in ready:
            _close_task_row(session, instance, workflow, row, actor, now)
    opened: list[Task] = []
    for task_id, spiff_task in ready.items():
        if task_id in open_rows:
            continue
        existing = rows.get(task_id)
        if existing is not None:  # a task sent back to READY (retry, loop) reopens its row
            existing.state = "open"
            existing.completed_at = existing.completed_by = None
            opened.append(existing)
        else:
            opened.append(_open_task_row(session, instance, spiff_task, meta, rules, actor, now))
    return [row for row in open_rows.values() if row.state == "open"] + opened


_TASK_WITHOUT_CASE = lazyload(Task.instance)


def _close_task_row(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    row: Task,
    actor: str | None,
    now: datetime,
) -> None:
    """Mark a task that is no longer ready completed, or cancelled (and audit that)."""
    spiff_task = find_task(workflow, row.id)
    if spiff_task is not None and spiff_task.has_state(TaskState.COMPLETED):
        row.state = "completed"
        return
    row.state, row.completed_at = "cancelled", now
    session.add(
        Event(
            instance_id=instance.id,
            task_id=row.id,
            element_id=row.spec_id,
            actor=actor,
            action="task_cancelled",
            at=now,
            data=None,
        )
    )


def _open_task_row(
    session: Session,
    instance: ProcessInstance,
    spiff_task: SpiffTask,
    meta: dict[str, Any],
    rules: TaskRules,
    actor: str | None,
    now: datetime,
) -> Task:
    """Add the row of a newly ready human task, with its title, role, assignee and due time."""
    spec_id = spiff_task.task_spec.bpmn_id or spiff_task.task_spec.name
    info = meta.get("tasks", {}).get(spec_id, {})
    row = Task(
        id=str(spiff_task.id),
        instance_id=instance.id,
        spec_id=spec_id,
        name=_title(spiff_task, info, rules, spec_id) or spiff_task.task_spec.bpmn_name or spec_id,
        role=info.get("role") or meta.get("lanes", {}).get(spec_id),
        form_key=info.get("form"),
        assignee=_evaluate_assignee(spiff_task, info, rules, spec_id),
        state="open",
        created_at=now,
        due_at=_evaluate_due(spiff_task, info, rules, spec_id),
    )
    row.due_basis = _basis_json(row.due_at)
    if row.assignee:
        row.claimed_at = now
    session.add(row)
    session.add(
        Event(
            instance_id=instance.id,
            task_id=row.id,
            element_id=spec_id,
            actor=actor,
            action="task_created",
            at=now,
            data={
                "role": row.role,
                "assignee": row.assignee,
                "due_at": row.due_at.isoformat() if row.due_at else None,
                **_translated_titles(spiff_task, info, rules),
            },
        )
    )
    return row


def _title(task: SpiffTask, info: dict[str, Any], rules: TaskRules, spec_id: str) -> str | None:
    """The task's name, or its ``title`` expression's value (one task per customer reads better)."""
    expression = info.get("title")
    if expression:
        try:
            return str(rules.evaluate(task, expression))[:256]
        except Exception as error:
            raise ProjectionError(
                info.get("id") or "task", f"the title '{expression}' could not be computed: {error}"
            )
    return info.get("name")


def _translated_titles(task: SpiffTask, info: dict[str, Any], rules: TaskRules) -> dict[str, Any]:
    """The title in other languages (``title_<lang>``), as ``{"titles": {lang: text}}`` when any.

    A translation that cannot be computed is left out: the task keeps its title in the default
    language rather than stopping the case.
    """
    titles: dict[str, str] = {}
    for lang, expression in (info.get("titles") or {}).items():
        try:
            titles[lang] = str(rules.evaluate(task, expression))[:256]
        except Exception:
            continue
    return {"titles": titles} if titles else {}


def _evaluate_due(task: SpiffTask, info: dict[str, Any], rules: TaskRules, spec_id: str) -> datetime | None:
    expression = info.get("due")
    if not expression:
        return None
    try:
        return rules.to_datetime(rules.evaluate(task, expression))
    except Exception as error:
        raise ProjectionError(spec_id, f"the due time '{expression}' could not be computed: {error}")


def _evaluate_assignee(task: SpiffTask, info: dict[str, Any], rules: TaskRules, spec_id: str) -> str | None:
    expression = info.get("assignee")
    if not expression:
        return None
    try:
        value = rules.evaluate(task, expression)
    except Exception as error:
        raise ProjectionError(spec_id, f"the assignee '{expression}' could not be computed: {error}")
    return str(value) if value else None


def _sync_jobs(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    scan: _Scan,
    meta: dict[str, Any],
    now: datetime,
    created: bool = False,
) -> tuple[int, bool]:
    """Open a job per waiting timer, close the rest; return (new jobs, whether an SLA was breached)."""
    jobs = [] if created else list(session.scalars(select(Job).where(Job.instance_id == instance.id)))
    open_jobs = {job.task_id: job for job in jobs if job.done_at is None}
    waiting = {str(task.id): (task, due) for task, due in scan.waiting_timers()}
    breached = False
    for task_id, job in open_jobs.items():
        if task_id not in waiting:
            job.done_at = now
            spiff_task = find_task(workflow, task_id)
            fired = spiff_task is not None and spiff_task.has_state(TaskState.COMPLETED)
            breached |= _record_timer_end(
                session, instance, meta, task_id, job.element_id, job.due_at, fired, now
            )
        elif job.due_at != waiting[task_id][1]:
            job.due_at = waiting[task_id][1]  # a cycle timer moved on to its next date
    # A timer already past when it started fires within the same command and never waited:
    # give it a closed job so it is counted like any other.
    known = {job.task_id for job in jobs}
    breached |= _record_fired_timers(session, instance, meta, scan.completed_timers, known, now)
    return _open_jobs(session, instance, waiting, open_jobs.keys()), breached


def _sync_known_jobs(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    scan: _Scan,
    meta: dict[str, Any],
    now: datetime,
    before: TimerJobs,
) -> tuple[int, bool]:
    """``_sync_jobs`` when the jobs are known from the workflow as the command found it: nothing is read.

    When a timer waited for before is not any more, the open jobs of timers not waited for are closed
    by one UPDATE that returns them (audited in the order they were created); a moved cycle timer's
    job is moved by one; a timer fired in this command that never waited gets a closed job, a new
    one an open job.
    """
    waiting = {str(task.id): (task, due) for task, due in scan.waiting_timers()}
    waiting_before = before.open
    closed, breached = _close_unwaited_jobs(session, instance, workflow, meta, waiting, waiting_before, now)
    recorded = closed | waiting_before.keys() | before.closed
    for task_id, (_task, due) in waiting.items():
        if task_id in waiting_before and waiting_before[task_id] != due:  # a cycle timer moved on
            session.execute(
                update(Job)
                .where(Job.instance_id == instance.id, Job.done_at.is_(None), Job.task_id == task_id)
                .values(due_at=due)
                .execution_options(synchronize_session=False)
            )
    breached |= _record_fired_timers(session, instance, meta, scan.completed_timers, recorded, now)
    return _open_jobs(session, instance, waiting, waiting_before.keys()), breached


def _record_fired_timers(
    session: Session,
    instance: ProcessInstance,
    meta: dict[str, Any],
    fired: list[tuple[SpiffTask, datetime]],
    known: Collection[str],
    now: datetime,
) -> bool:
    """Give each timer fired in this command that has no job (``known``) a closed one; tell whether one was late."""
    breached = False
    for task, due in fired:
        task_id = str(task.id)
        if task_id in known:
            continue
        element_id = _element_of(task)
        session.add(
            Job(
                instance_id=instance.id,
                kind="timer",
                task_id=task_id,
                element_id=element_id,
                due_at=due,
                attempts=0,
                done_at=now,
            )
        )
        breached |= _record_timer_end(session, instance, meta, task_id, element_id, due, True, now)
    return breached


def _close_unwaited_jobs(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    meta: dict[str, Any],
    waiting: Mapping[str, tuple[SpiffTask, datetime]],
    waiting_before: Mapping[str, datetime],
    now: datetime,
) -> tuple[set[str], bool]:
    """Close the open jobs of timers no longer waited for, by one UPDATE that returns them.

    Only when a timer waited for before is not any more; each closed job is audited in the order
    the jobs were created. Returns the closed jobs' task ids and whether one was a breach.
    """
    if all(task_id in waiting for task_id in waiting_before):
        return set(), False
    closed = sorted(
        session.execute(
            update(Job)
            .where(Job.instance_id == instance.id, Job.done_at.is_(None), Job.task_id.not_in(list(waiting)))
            .values(done_at=now)
            .returning(Job.id, Job.task_id, Job.element_id, Job.due_at)
            .execution_options(synchronize_session=False)
        ).all()
    )
    breached = False
    for _job_id, task_id, element_id, due_at in closed:
        spiff_task = find_task(workflow, task_id)
        fired = spiff_task is not None and spiff_task.has_state(TaskState.COMPLETED)
        breached |= _record_timer_end(session, instance, meta, task_id, element_id, due_at, fired, now)
    return {row[1] for row in closed}, breached


def _open_jobs(
    session: Session,
    instance: ProcessInstance,
    waiting: Mapping[str, tuple[SpiffTask, datetime]],
    known: Collection[str],
) -> int:
    """Add an open job for each waited-for timer that has none (``known``); return how many."""
    new = [(task_id, task, due) for task_id, (task, due) in waiting.items() if task_id not in known]
    for task_id, task, due in new:
        session.add(
            Job(
                instance_id=instance.id,
                kind="timer",
                task_id=task_id,
                element_id=_element_of(task),
                due_at=due,
                due_basis=_basis_json(due),
                attempts=0,
            )
        )
    return len(new)


def _basis_json(due: datetime | None) -> dict[str, Any] | None:
    """The stored basis of a due time this command counted in working time, else None."""
    basis = basis_of(due)
    return basis.to_json() if basis is not None else None


def _record_timer_end(
    session: Session,
    instance: ProcessInstance,
    meta: dict[str, Any],
    task_id: str,
    element_id: str,
    due_at: datetime,
    fired: bool,
    now: datetime,
) -> bool:
    """Audit a timer that fired or was cancelled; record the SLA breach it stands for. Tell if breached."""
    session.add(
        Event(
            instance_id=instance.id,
            task_id=task_id,
            element_id=element_id,
            actor="system",
            action="timer_fired" if fired else "timer_cancelled",
            at=now,
            data={"due_at": due_at.isoformat()},
        )
    )
    sla = meta.get("element_properties", {}).get(element_id, {}).get("sla")
    if not (fired and sla):
        return False
    session.add(
        SlaBreach(
            instance_id=instance.id,
            sla=sla,
            element_id=element_id,
            task_element_id=meta.get("attached_to", {}).get(element_id),
            due_at=due_at,
            breached_at=now,
        )
    )
    return True


def _sync_list_fields(
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    scan: _Scan,
    meta: dict[str, Any],
    list_fields: Mapping[str, tuple[str, ...]],
) -> None:
    ready = scan.ready_human
    data = ready[0].data if ready else (workflow.last_task.data if workflow.last_task else {})
    for column, keys in list_fields.items():
        for key in keys:
            value = data.get(key)
            if value not in (None, "") and not isinstance(value, dict | list):
                setattr(instance, column, str(value)[:256])
                break
    elements: dict[str, str] = meta.get("elements", {})
    names = [
        elements.get(t.task_spec.bpmn_id or "", t.task_spec.bpmn_name or t.task_spec.name) for t in ready
    ]
    if not names:  # nothing for people to do: the case waits for a message or a timer
        names = [
            elements.get(t.task_spec.bpmn_id or "", t.task_spec.bpmn_name or t.task_spec.name)
            for t in scan.waiting
            if isinstance(t.task_spec, CatchingEvent) and not isinstance(t.task_spec, BoundaryEvent)
        ]
    instance.current_step = ", ".join(dict.fromkeys(names))[:512] or None


#: A fact larger than this (as JSON) is left out: task pages read facts with every visit.
MAX_FACT_BYTES = 8 * 1024


def _sync_facts(
    instance: ProcessInstance,
    known: dict[str, Any] | None,
    workflow: BpmnWorkflow,
    scan: _Scan,
    keys: tuple[str, ...],
    decisions: Mapping[str, dict[str, Any]],
) -> None:
    """Keep the named case-data keys as they stand now, and the rules the decisions chose.

    The data of the last completed task is read first, then that of each task waiting for people
    (the newest values), so what a page shows agrees with what the engine decided on.
    """
    facts = dict(known or {})
    data = dict(facts.get("data") or {})
    sources = [workflow.last_task] if workflow.last_task is not None else []
    sources += scan.ready_human
    for task in sources:
        for key in keys:
            if key in task.data:
                value = task.data[key]
                try:
                    size = len(json.dumps(value, default=str))
                except (TypeError, ValueError):
                    continue
                if size <= MAX_FACT_BYTES:
                    data[key] = json.loads(json.dumps(value, default=str))
    facts["data"] = data
    if decisions:
        facts["decisions"] = {**(facts.get("decisions") or {}), **decisions}
    instance.facts = facts


def parse_moment(value: Any, default_tz: Any) -> datetime:
    """Turn an expression result (datetime, date or ISO string) into an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=default_tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=default_tz)
    raise ValueError(f"expected a date-time, got {type(value).__name__}")
