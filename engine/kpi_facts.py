"""The KPI read model: what the KPIs need of each case, kept current by case version.

Every command on a case saves its row and so bumps ``process_instance.lock_version`` (the
mapper's optimistic version column). ``kpi_case.seen_version`` remembers the version a case's
facts were computed from, so the cases whose facts are stale are exactly those whose versions
differ — a comparison answered from two narrow indexes. ``refresh`` recomputes just those cases
from the projections and the audit log; the dashboard (``engine.kpis.compute``) then aggregates
narrow rows instead of replaying the log on every change.

Reading the version *before* the facts keeps the model safe under concurrent commands: a command
that commits in between leaves a newer version than the one stored, and the case is recomputed
on the next refresh. Refreshes themselves take the ``kpi_state`` row's lock (PostgreSQL) or the
write lock (SQLite), so they run one at a time.

Facts per case (the definitions are those of ``engine.kpis``):

- process, status, and the company-time month it completed in (``ended_at``, set by the command
  that records its ``instance_completed`` event);
- whether any SLA was breached, and whether the complaint closure limit was;
- the technician (the assignee of its latest technician task that has one);
- the department (the process's; for a complaint the responsible department quality decided);
- for a repair, whether a complaint attributable to the service names it ("确属服务责任的" [001]):
  a complaint naming the repair order (``repair_order``: set by the follow-up that raised it, copied
  to a re-filed one, or picked from the repair orders when received directly) whose cause analysis
  makes the service department responsible and whose investigation did not find it
  unsubstantiated; and each follow-up card with its month.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, insert, or_, select
from sqlalchemy.orm import Session

from engine.db import table_of, upsert
from engine.models import Event, KpiCase, KpiFollowUp, KpiState, ProcessInstance, SlaBreach, Task

FOLLOW_UP = "task_follow_up"
CAUSE_ANALYSIS = "task_cause_analysis"
REPAIR = "repair_service"
COMPLAINT = "complaint"
INVESTIGATION = "task_investigation"
#: The cause analysis's field naming the department responsible for a complaint.
DEPARTMENT_FIELD = "responsible_department"
#: The complaint's field naming the repair order it is about (a business number).
REPAIR_ORDER_FIELD = "repair_order"
#: The investigation's verdict field, and its value for a complaint found unsubstantiated.
SUBSTANTIATED_FIELD = "complaint_substantiated"
UNSUBSTANTIATED = "no"
SATISFIED = frozenset({"very_satisfied", "satisfied"})
RATING_CRITERIA = ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
#: The department answering for each process's SLAs.
PROCESS_DEPARTMENT = {
    "repair_service": "after_sales",
    "complaint": "quality",
    "sales_return": "sales",
    "recall": "quality",
}
#: Cases per ``IN (...)`` list: well under every database's bound-parameter limit.
CHUNK = 500
#: From this many stale cases on, read each source table once instead of by chunks of ids.
WHOLE_TABLE_FROM = 2_000

_MONTHS: dict[tuple[str, int], str] = {}


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    """The company-time month of a moment, as YYYY-MM (memoized per hour: refreshes ask often)."""
    key = (zone.key, int(moment.timestamp()) // 3600)
    month = _MONTHS.get(key)
    if month is None:
        month = _MONTHS[key] = moment.astimezone(zone).strftime("%Y-%m")
    return month


_STALE = (
    select(ProcessInstance.id, ProcessInstance.lock_version)
    .outerjoin(KpiCase, KpiCase.instance_id == ProcessInstance.id)
    .where(or_(KpiCase.instance_id.is_(None), KpiCase.seen_version != ProcessInstance.lock_version))
)


def stale_cases(session: Session) -> dict[int, int]:
    """The cases whose facts are missing or older than the case: id -> current version."""
    return {instance_id: version for instance_id, version in session.execute(_STALE)}


def is_current(session: Session, timezone: str) -> bool:
    """Tell whether the facts were counted in ``timezone`` and no case changed since."""
    counted_in = session.scalar(select(KpiState.timezone).where(KpiState.id == 1))
    return counted_in == timezone and session.execute(_STALE.limit(1)).first() is None


def refresh(session: Session, timezone: str) -> int:
    """Bring the read model up to date in ``session`` (a writer); return how many cases it recomputed."""
    _lock_state(session, timezone)
    stale = stale_cases(session)
    if not stale:
        return 0
    _add_parents(session, stale)
    zone = ZoneInfo(timezone)
    ids = sorted(stale)
    if len(ids) >= WHOLE_TABLE_FROM:
        cases, cards = _facts(session, None, stale, zone)
    else:
        cases, cards = [], []
        for start in range(0, len(ids), CHUNK):
            more_cases, more_cards = _facts(session, ids[start : start + CHUNK], stale, zone)
            cases += more_cases
            cards += more_cards
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.execute(delete(KpiFollowUp).where(KpiFollowUp.instance_id.in_(chunk)))
        session.execute(delete(KpiCase).where(KpiCase.instance_id.in_(chunk)))
    # Core executemany: the ORM's bulk insert would fetch each card's new id one row at a time.
    if cases:
        session.execute(insert(table_of(KpiCase)), cases)
    if cards:
        session.execute(insert(table_of(KpiFollowUp)), cards)
    return len(cases)


def forget(session: Session) -> None:
    """Drop every fact, so the next refresh computes all cases anew."""
    session.execute(delete(KpiFollowUp))
    session.execute(delete(KpiCase))


def _lock_state(session: Session, timezone: str) -> None:
    """Take the read model's lock; forget every fact if they were counted in another timezone."""
    session.execute(
        upsert(session, KpiState)
        .values(id=1, timezone=timezone)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    state = session.scalars(select(KpiState).where(KpiState.id == 1).with_for_update()).one()
    if state.timezone != timezone:
        forget(session)
        state.timezone = timezone
        session.flush()


def _add_parents(session: Session, stale: dict[int, int]) -> None:
    """A complaint changes its repair's facts: recompute the parents and named repairs of stale cases too."""
    links = session.execute(
        select(ProcessInstance.id, ProcessInstance.parent_instance_id).where(
            ProcessInstance.parent_instance_id.is_not(None)
        )
    )
    related = {parent for child, parent in links if child in stale and parent}
    related |= set(_named_repairs(session, sorted(stale)).values())
    missing = sorted(related - set(stale))
    for start in range(0, len(missing), CHUNK):
        stale.update(
            session.execute(
                select(ProcessInstance.id, ProcessInstance.lock_version).where(
                    ProcessInstance.id.in_(missing[start : start + CHUNK])
                )
            ).all()
        )


def _named_repairs(session: Session, complaint_ids: Sequence[int] | None) -> dict[int, int]:
    """complaint id -> id of the repair order it names (None: every complaint; those naming none left out)."""
    query = (
        select(Event.instance_id, _entered(REPAIR_ORDER_FIELD))
        .join(ProcessInstance, ProcessInstance.id == Event.instance_id)
        .where(Event.action == "instance_started", ProcessInstance.process_key == COMPLAINT)
    )
    chunks = (
        [None]
        if complaint_ids is None
        else [complaint_ids[start : start + CHUNK] for start in range(0, len(complaint_ids), CHUNK)]
    )
    named: dict[int, str] = {}
    for chunk in chunks:
        for instance_id, number in session.execute(_only(query, Event.instance_id, chunk)):
            if number:
                named[instance_id] = str(number)
    if not named:
        return {}
    numbers = sorted(set(named.values()))
    repair_of: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        repair_of.update(
            session.execute(
                select(ProcessInstance.business_number, ProcessInstance.id).where(
                    ProcessInstance.business_number.in_(numbers[start : start + CHUNK]),
                    ProcessInstance.process_key == REPAIR,
                )
            ).all()
        )
    return {complaint: repair_of[number] for complaint, number in named.items() if number in repair_of}


def _service_complaints(session: Session, repair_ids: set[int]) -> set[int]:
    """The repairs among ``repair_ids`` named by a complaint attributable to the service."""
    if not repair_ids:
        return set()
    named = {c: r for c, r in _named_repairs(session, None).items() if r in repair_ids}
    if not named:
        return set()
    department: dict[int, str | None] = {}
    substantiated: dict[int, str | None] = {}
    complaints = sorted(named)
    for start in range(0, len(complaints), CHUNK):
        for instance_id, element_id, responsible, verdict in session.execute(
            select(
                Event.instance_id,
                Event.element_id,
                _entered(DEPARTMENT_FIELD),
                _entered(SUBSTANTIATED_FIELD),
            )
            .where(
                Event.action == "task_completed",
                Event.element_id.in_((CAUSE_ANALYSIS, INVESTIGATION)),
                Event.instance_id.in_(complaints[start : start + CHUNK]),
            )
            .order_by(Event.id)
        ):
            if element_id == CAUSE_ANALYSIS:
                department[instance_id] = responsible  # the latest analysis decides
            else:
                substantiated[instance_id] = verdict
    service = PROCESS_DEPARTMENT[REPAIR]
    return {
        repair
        for complaint, repair in named.items()
        if department.get(complaint) == service and substantiated.get(complaint) != UNSUBSTANTIATED
    }


_Query = TypeVar("_Query", bound=Select)


def _only(query: _Query, column: Any, ids: Sequence[int] | None) -> _Query:
    """Restrict a query to the cases ``ids`` (None: all of them)."""
    return query if ids is None else query.where(column.in_(ids))


def _entered(key: str) -> Any:
    """One field of a completion event's form data, as text, extracted by the database."""
    return Event.data[("data", key)].as_string()


def _facts(
    session: Session, ids: Sequence[int] | None, versions: dict[int, int], zone: ZoneInfo
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``kpi_case`` and ``kpi_follow_up`` rows of ``ids`` (None: read whole tables, keep ``versions``' cases)."""
    instances = session.execute(
        _only(
            select(
                ProcessInstance.id,
                ProcessInstance.process_key,
                ProcessInstance.status,
                ProcessInstance.ended_at,
            ),
            ProcessInstance.id,
            ids,
        )
    ).all()
    technicians: dict[int, str | None] = {}
    for instance_id, assignee in session.execute(
        _only(
            select(Task.instance_id, Task.assignee)
            .where(Task.role == "technician", Task.assignee.is_not(None))
            .order_by(Task.created_at, Task.id),
            Task.instance_id,
            ids,
        )
    ):
        technicians[instance_id] = assignee  # the latest technician task with an assignee wins
    breached: set[int] = set()
    closure_breached: set[int] = set()
    for instance_id, sla in session.execute(
        _only(select(SlaBreach.instance_id, SlaBreach.sla), SlaBreach.instance_id, ids)
    ):
        breached.add(instance_id)
        if sla == "closure":
            closure_breached.add(instance_id)
    complained = _service_complaints(
        session, {instance_id for instance_id, process_key, *_rest in instances if process_key == REPAIR}
    )
    responsible: dict[int, str] = {}
    cards: list[dict[str, Any]] = []
    for instance_id, element_id, at, department, *ratings in session.execute(
        _only(
            select(
                Event.instance_id,
                Event.element_id,
                Event.at,
                _entered(DEPARTMENT_FIELD),
                *(_entered(criterion) for criterion in RATING_CRITERIA),
            )
            .where(Event.action == "task_completed", Event.element_id.in_((FOLLOW_UP, CAUSE_ANALYSIS)))
            .order_by(Event.id),
            Event.instance_id,
            ids,
        )
    ):
        if instance_id not in versions:
            continue
        if element_id == CAUSE_ANALYSIS:
            if department:
                responsible[instance_id] = str(department)[:128]
        elif any(ratings):
            card: dict[str, Any] = {"instance_id": instance_id, "month": month_of(at, zone)}
            for criterion, rating in zip(RATING_CRITERIA, ratings, strict=True):
                card[criterion] = rating in SATISFIED if rating else None
            cards.append(card)
    cases: list[dict[str, Any]] = []
    repairs: set[int] = set()
    for instance_id, process_key, status, ended_at in instances:
        if instance_id not in versions:
            continue
        department = PROCESS_DEPARTMENT.get(process_key)
        if process_key == COMPLAINT and instance_id in responsible:
            department = responsible[instance_id]
        if process_key == REPAIR:
            repairs.add(instance_id)
        cases.append(
            {
                "instance_id": instance_id,
                "seen_version": versions[instance_id],
                "process_key": process_key,
                "status": status,
                "ended_month": month_of(ended_at, zone) if status == "completed" and ended_at else None,
                "technician": technicians.get(instance_id),
                "department": department,
                "breached": instance_id in breached,
                "closure_breached": instance_id in closure_breached,
                "complained": process_key == REPAIR and instance_id in complained,
            }
        )
    # Satisfaction is the repair follow-up card's; other processes' follow-ups are not rated.
    return cases, [card for card in cards if card["instance_id"] in repairs]
