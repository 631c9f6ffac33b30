"""Read models of the managers' view: the case list, one case on its diagram, a process's statistics.

Projections only (``process_instance`` list fields, ``task``, ``event``, ``sla_breach``): no
query here deserializes a workflow, so a page costs the same with ten cases or ten thousand.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.store.models import OPEN_TASK, Event, ProcessDefinition, ProcessInstance, SlaBreach, Task, User
from processes.kpis.models import KpiCase

#: Statuses a manager filters on; "late" is a running case past one of its limits.
STATUSES = ("running", "late", "waiting", "error", "suspended", "completed", "terminated", "scheduled")
OPEN_STATUSES = ("running", "error", "suspended")
PAGE_SIZES = (25, 50, 100, 200)
EXPORT_LIMIT = 50_000
_Query = TypeVar("_Query", bound=Select[Any])


@dataclass(frozen=True)
class CaseFilter:
    """What the case list is narrowed to; every field optional."""

    q: str = ""
    process: str = ""
    version: int | None = None
    status: str = ""
    step: str = ""
    customer: str = ""
    assignee: str = ""
    technician: str = ""
    #: The department a case counts under in the KPIs (read from the KPI read model).
    department: str = ""
    breached: str = ""  # "yes": has an SLA breach; "no": has none; "open": breach on an unfinished case
    started_from: date | None = None
    started_to: date | None = None
    ended_from: date | None = None
    ended_to: date | None = None
    linked_to: str = ""  # "repair": complaints started by a repair
    page: int = 1
    per_page: int = 50
    timezone: str = "Asia/Shanghai"

    def args(self) -> dict[str, str]:
        """Return the filter as query-string arguments (only those set), for links and exports."""
        out: dict[str, str] = {}
        for name in (
            "q",
            "process",
            "version",
            "status",
            "step",
            "customer",
            "assignee",
            "technician",
            "department",
            "breached",
            "started_from",
            "started_to",
            "ended_from",
            "ended_to",
            "linked_to",
        ):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out


@dataclass(frozen=True)
class CaseRow:
    id: int
    business_number: str
    process_key: str
    process_name: str
    version: int
    status: str
    late: bool
    current_step: str | None
    customer_name: str | None
    assignees: tuple[str, ...]
    started_at: datetime
    due_at: datetime | None
    ended_at: datetime | None

    @property
    def shown_status(self) -> str:
        """The status as a manager reads it: a running case past a limit is "late"."""
        return "late" if self.late and self.status == "running" else self.status


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _filtered(query: _Query, f: CaseFilter) -> _Query:
    zone = ZoneInfo(f.timezone)
    pi = ProcessInstance
    if f.q.strip():
        like = f"%{f.q.strip()}%"
        query = query.where(
            # Number and customer only: both are in the covering index, so a search reads no wide row.
            or_(pi.business_number.ilike(like), pi.customer_name.ilike(like))
        )
    if f.process:
        query = query.where(pi.process_key == f.process)
    if f.version is not None:
        query = query.where(ProcessDefinition.version == f.version)
    if f.status == "late":
        query = query.where(pi.late.is_(True), pi.status.in_(OPEN_STATUSES))
    elif f.status == "waiting":  # running with no one to act: on a timer or a message
        query = query.where(
            pi.status == "running",
            ~exists().where(Task.instance_id == pi.id, OPEN_TASK),
        )
    elif f.status:
        query = query.where(pi.status == f.status)
    if f.step.strip():
        query = query.where(pi.current_step.ilike(f"%{f.step.strip()}%"))
    if f.customer.strip():
        query = query.where(pi.customer_name.ilike(f"%{f.customer.strip()}%"))
    if f.assignee:
        query = query.where(exists().where(Task.instance_id == pi.id, OPEN_TASK, Task.assignee == f.assignee))
    if f.technician:
        query = query.where(
            exists().where(
                Task.instance_id == pi.id, Task.role == "technician", Task.assignee == f.technician
            )
        )
    if f.department:
        query = query.where(exists().where(KpiCase.instance_id == pi.id, KpiCase.department == f.department))
    if f.breached == "yes":
        query = query.where(exists().where(SlaBreach.instance_id == pi.id))
    elif f.breached == "no":
        query = query.where(~exists().where(SlaBreach.instance_id == pi.id))
    elif f.breached == "open":
        query = query.where(exists().where(SlaBreach.instance_id == pi.id), pi.status.in_(OPEN_STATUSES))
    if f.linked_to == "repair":
        parent = ProcessInstance.__table__.alias("parent")
        query = query.where(
            exists().where(parent.c.id == pi.parent_instance_id, parent.c.process_key == "repair_service")
        )
    if f.started_from:
        query = query.where(pi.started_at >= _day_start(f.started_from, zone))
    if f.started_to:
        query = query.where(pi.started_at < _day_start(f.started_to + timedelta(days=1), zone))
    if f.ended_from:
        query = query.where(pi.ended_at >= _day_start(f.ended_from, zone))
    if f.ended_to:
        query = query.where(pi.ended_at < _day_start(f.ended_to + timedelta(days=1), zone))
    return query


def list_cases(session: Session, f: CaseFilter, everything: bool = False) -> CasePage:
    """Return one page of the cases matching ``f``, newest first (all of them for an export)."""
    base = select(ProcessInstance.id)
    if f.version is not None:  # the join costs a lookup per row: only when a version is asked for
        base = base.join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    base = base.where(ProcessInstance.status != "scheduled") if f.status != "scheduled" else base
    filtered = _filtered(base, f)
    total = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    per_page = f.per_page if f.per_page in PAGE_SIZES else 50
    page = max(1, min(f.page, max(1, math.ceil(total / per_page))))
    columns = cast(
        "Select[Any]",
        select(
            ProcessInstance.id,
            ProcessInstance.business_number,
            ProcessInstance.process_key,
            ProcessDefinition.name,
            ProcessDefinition.version,
            ProcessInstance.status,
            ProcessInstance.late,
            ProcessInstance.current_step,
            ProcessInstance.customer_name,
            ProcessInstance.started_at,
            ProcessInstance.due_at,
            ProcessInstance.ended_at,
        ).join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id),
    )
    query = _filtered(columns, f)
    if f.status != "scheduled":
        query = query.where(ProcessInstance.status != "scheduled")
    # Newest first by id (the order cases were started in): the primary key needs no sort of wide rows.
    query = query.order_by(ProcessInstance.id.desc())
    query = query.limit(EXPORT_LIMIT) if everything else query.limit(per_page).offset((page - 1) * per_page)
    rows = session.execute(query).all()
    assignees = _open_assignees(session, [r.id for r in rows])
    return CasePage(
        [
            CaseRow(
                r.id,
                r.business_number,
                r.process_key,
                r.name,
                r.version,
                r.status,
                bool(r.late),
                r.current_step,
                r.customer_name,
                tuple(assignees.get(r.id, ())),
                r.started_at,
                r.due_at,
                r.ended_at,
            )
            for r in rows
        ],
        total,
        page,
        per_page,
    )


def _open_assignees(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for instance_id, assignee in session.execute(
            select(Task.instance_id, Task.assignee)
            .where(Task.instance_id.in_(chunk), OPEN_TASK, Task.assignee.is_not(None))
            .distinct()
            .order_by(Task.instance_id, Task.assignee)
        ):
            if assignee:
                found[instance_id].append(assignee)
    return found


def filter_choices(session: Session) -> dict[str, list[Any]]:
    """Return what the list's drop-downs offer: processes (key, name), versions, assignees."""
    processes = session.execute(
        select(ProcessDefinition.process_key, func.max(ProcessDefinition.name))
        .group_by(ProcessDefinition.process_key)
        .order_by(ProcessDefinition.process_key)
    ).all()
    versions = sorted(set(session.scalars(select(ProcessDefinition.version))))
    assignees = list(
        session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username))
    )
    return {"processes": [tuple(p) for p in processes], "versions": versions, "assignees": assignees}


# --- one case ------------------------------------------------------------------------------------


@dataclass
class CaseDetail:
    instance: ProcessInstance
    definition: ProcessDefinition
    tasks: list[Task]
    events: list[Event]
    breaches: list[SlaBreach]
    data: dict[str, Any]
    parent: ProcessInstance | None
    children: list[ProcessInstance]
    completed_elements: set[str] = field(default_factory=set)
    active_elements: set[str] = field(default_factory=set)
    late_elements: set[str] = field(default_factory=set)

    @property
    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "open"]


def case_detail(session: Session, instance_id: int) -> CaseDetail | None:
    """Return a case with its tasks, audit timeline, breaches, data, links and diagram marking."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        return None
    tasks = list(
        session.scalars(
            select(Task).where(Task.instance_id == instance_id).order_by(Task.created_at, Task.id)
        )
    )
    events = list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))
    breaches = list(
        session.scalars(select(SlaBreach).where(SlaBreach.instance_id == instance_id).order_by(SlaBreach.id))
    )
    parent = (
        session.get(ProcessInstance, instance.parent_instance_id) if instance.parent_instance_id else None
    )
    children = list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.parent_instance_id == instance_id)
            .order_by(ProcessInstance.id)
        )
    )
    detail = CaseDetail(
        instance, instance.definition, tasks, events, breaches, case_data(events), parent, children
    )
    detail.completed_elements, detail.active_elements, detail.late_elements = diagram_marking(
        tasks, events, breaches, instance
    )
    return detail


def case_data(events: Iterable[Event]) -> dict[str, Any]:
    """The case data as entered: the start data, then every completed task's data over it in order."""
    data: dict[str, Any] = {}
    for event in events:
        payload = event.data or {}
        if (event.action == "instance_started" and isinstance(payload.get("data"), dict)) or (
            event.action == "task_completed" and isinstance(payload.get("data"), dict)
        ):
            data.update(payload["data"])
        elif event.action == "message_received" and isinstance(payload.get("payload"), dict):
            data.update(payload["payload"])
    return data


def diagram_marking(
    tasks: Sequence[Task], events: Sequence[Event], breaches: Sequence[SlaBreach], instance: ProcessInstance
) -> tuple[set[str], set[str], set[str]]:
    """Return (completed, active, late) element ids of a case, from its projections."""
    completed = {t.spec_id for t in tasks if t.state == "completed"}
    completed |= {e.element_id for e in events if e.action == "timer_fired" and e.element_id}
    active = (
        {t.spec_id for t in tasks if t.state == "open"}
        if instance.status not in ("completed", "terminated")
        else set()
    )
    if instance.status == "error" and instance.error_element:
        active.add(instance.error_element)
    late: set[str] = set()
    for breach in breaches:
        late.add(breach.element_id)
        if breach.task_element_id:
            late.add(breach.task_element_id)
    completed -= active
    return completed, active, late


def bpmn_xml(definition: ProcessDefinition) -> str:
    """Return the BPMN file of a deployed version that holds its process."""
    candidates = [(name, text) for name, text in definition.files.items() if name.endswith(".bpmn")]
    for _name, text in candidates:
        if f'id="{definition.process_key}"' in text:
            return text
    return candidates[0][1] if candidates else ""


# --- a process version -------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    element_id: str
    name: str
    now: int
    passed: int
    average_hours: float | None
    p90_hours: float | None


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def process_stats(session: Session, definition_id: int) -> list[StepStats]:
    """Per element of one version: cases there now, cases that passed it, average and p90 hours."""
    rows = session.execute(
        select(Task.spec_id, Task.name, Task.state, Task.instance_id, Task.created_at, Task.completed_at)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(ProcessInstance.definition_id == definition_id, Task.state.in_(("open", "completed")))
    ).all()
    names: dict[str, str] = {}
    now: dict[str, set[int]] = defaultdict(set)
    passed: dict[str, set[int]] = defaultdict(set)
    hours: dict[str, list[float]] = defaultdict(list)
    for spec_id, name, state, instance_id, created, completed in rows:
        names.setdefault(spec_id, name)
        if state == "open":
            now[spec_id].add(instance_id)
        else:
            passed[spec_id].add(instance_id)
            if completed is not None:
                hours[spec_id].append((completed - created).total_seconds() / 3600)
    timers = session.execute(
        select(Event.element_id, Event.instance_id)
        .join(ProcessInstance, ProcessInstance.id == Event.instance_id)
        .where(ProcessInstance.definition_id == definition_id, Event.action == "timer_fired")
    ).all()
    for element_id, timer_case in timers:
        if element_id and timer_case is not None:
            names.setdefault(element_id, element_id)
            passed[element_id].add(timer_case)
    return [
        StepStats(
            element_id,
            names[element_id],
            len(now.get(element_id, ())),
            len(passed.get(element_id, ())),
            (sum(hours[element_id]) / len(hours[element_id])) if hours.get(element_id) else None,
            percentile(hours.get(element_id, []), 0.9),
        )
        for element_id in sorted(names)
    ]
