"""The regulations' KPIs (SPEC §8) from the projections and the audit log.

Definitions (each a ratio of case counts, bucketed by the company-time month of the moment
that decides it):

- **service timeliness**: completed cases with no ``sla_breach`` / completed cases (month
  the case ended);
- **customer satisfaction**: ratings "very satisfied" or "satisfied" / all ratings of the
  repair follow-up card (4 criteria × 4 levels), overall and per criterion (month of the
  follow-up);
- **complaint rate attributable to service**: completed repairs that started a linked
  complaint / completed repairs (month the repair ended);
- **complaint closure within limit**: completed complaints without a ``closure`` breach /
  completed complaints (month closed) — the same rule the diagram's ``closed_within_limit``
  follows;
- **open SLA breaches**: breaches of cases not ended (month of the breach).

Dimensions: month, process, technician (the technician of a repair: its technician-role
task's assignee) and department (the department owning the process; for complaints the
responsible department quality decided, when there is one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.models import Event, ProcessInstance, SlaBreach, Task

SATISFIED = frozenset({"very_satisfied", "satisfied"})
RATING_CRITERIA = ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
FOLLOW_UP = "task_follow_up"
CAUSE_ANALYSIS = "task_cause_analysis"
REPAIR = "repair_service"
COMPLAINT = "complaint"
#: The department answering for each process's SLAs.
PROCESS_DEPARTMENT = {
    "repair_service": "after_sales",
    "complaint": "quality",
    "sales_return": "sales",
    "recall": "quality",
}
#: Targets of SPEC §8, the strictest source: (value, comparison, source).
TARGETS: dict[str, tuple[float, str, str]] = {
    "timeliness": (0.95, ">", "[001] > 95 %, [004] ≥ 90 %"),
    "satisfaction": (0.95, ">", "[001] > 95 %, [004] ≥ 85 %"),
    "complaint_rate": (0.02, "<", "[001] < 2 %, [004] < 3 %"),
    "closure": (1.0, "≥", "[001] 5 / 7 days"),
}
KPI_NAMES = ("timeliness", "satisfaction", "complaint_rate", "closure")
DIMENSIONS = ("month", "process", "technician", "department")


@dataclass
class Ratio:
    """A share of cases (or ratings): hits over all."""

    hits: int = 0
    total: int = 0

    def add(self, hit: bool, hits: int | None = None, total: int = 1) -> None:
        """Count one case (``hit``), or ``hits`` out of ``total`` at once."""
        self.total += total
        self.hits += int(hit) if hits is None else hits

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass
class Kpi:
    """One KPI overall and broken down by each dimension."""

    name: str
    overall: Ratio = field(default_factory=Ratio)
    by: dict[str, dict[str, Ratio]] = field(
        default_factory=lambda: {d: defaultdict(Ratio) for d in DIMENSIONS}
    )

    def add(self, hit: bool, keys: dict[str, str | None], hits: int | None = None, total: int = 1) -> None:
        self.overall.add(hit, hits, total)
        for dimension, key in keys.items():
            if key:
                self.by[dimension][key].add(hit, hits, total)


@dataclass
class Dashboard:
    kpis: dict[str, Kpi]
    criteria: dict[str, Ratio]
    criteria_by_month: dict[str, dict[str, Ratio]]
    open_breaches: dict[str, dict[str, int]]
    open_breaches_total: int
    months: list[str]


_MONTHS: dict[tuple[str, int], str] = {}


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    """The company-time month of a moment, as YYYY-MM (memoized per hour: dashboards ask often)."""
    key = (zone.key, int(moment.timestamp()) // 3600)
    month = _MONTHS.get(key)
    if month is None:
        month = _MONTHS[key] = moment.astimezone(zone).strftime("%Y-%m")
    return month


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM month."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def _technicians(session: Session) -> dict[int, str]:
    query = select(Task.instance_id, Task.assignee).where(
        Task.role == "technician", Task.assignee.is_not(None)
    )
    found: dict[int, str] = {}
    for instance_id, assignee in session.execute(query):
        if assignee:
            found.setdefault(instance_id, assignee)
    return found


def compute(session: Session, timezone: str = "Asia/Shanghai") -> Dashboard:
    """Compute every KPI with its breakdowns from the database."""
    zone = ZoneInfo(timezone)
    technicians = _technicians(session)
    # One pass over the audit log for everything the KPIs read from it.
    ended: dict[int, datetime] = {}
    responsible: dict[int, str] = {}
    follow_ups: list[tuple[int, datetime, dict[str, Any]]] = []
    for instance_id, action, element_id, at, data in session.execute(
        select(Event.instance_id, Event.action, Event.element_id, Event.at, Event.data).where(
            or_(
                Event.action == "instance_completed",
                and_(Event.action == "task_completed", Event.element_id.in_((FOLLOW_UP, CAUSE_ANALYSIS))),
            )
        )
    ):
        if instance_id is None:
            continue
        if action == "instance_completed":
            ended[instance_id] = at
            continue
        entered = (data or {}).get("data") or {}
        if element_id == FOLLOW_UP:
            follow_ups.append((instance_id, at, entered))
        elif entered.get("responsible_department"):
            responsible[instance_id] = entered["responsible_department"]
    breached = set(session.scalars(select(SlaBreach.instance_id).distinct()))
    closure_breached = set(
        session.scalars(select(SlaBreach.instance_id).where(SlaBreach.sla == "closure").distinct())
    )
    # Narrow reads only: (id, status, process_key) come from a covering index, the links from the
    # parent index and the end times from the audit log, so no wide instance row (with its
    # serialized state) is read.
    cases = session.execute(
        select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.status).where(
            ProcessInstance.status != "scheduled"
        )
    ).all()
    parents: dict[int, int] = {
        child: parent
        for child, parent in session.execute(
            select(ProcessInstance.id, ProcessInstance.parent_instance_id).where(
                ProcessInstance.parent_instance_id.is_not(None)
            )
        )
        if parent is not None
    }
    process_of = {c.id: c.process_key for c in cases}
    repairs_with_complaint = {
        parent
        for child, parent in parents.items()
        if process_of.get(child) == COMPLAINT and process_of.get(parent) == REPAIR
    }

    def department(case_id: int, process_key: str) -> str | None:
        if process_key == COMPLAINT and case_id in responsible:
            return responsible[case_id]
        return PROCESS_DEPARTMENT.get(process_key)

    kpis = {name: Kpi(name) for name in KPI_NAMES}
    months: set[str] = set()
    for c in cases:
        ended_at = ended.get(c.id)
        if c.status != "completed" or ended_at is None:
            continue
        month = month_of(ended_at, zone)
        months.add(month)
        keys = {
            "month": month,
            "process": c.process_key,
            "technician": technicians.get(c.id),
            "department": department(c.id, c.process_key),
        }
        kpis["timeliness"].add(c.id not in breached, keys)
        if c.process_key == REPAIR:
            kpis["complaint_rate"].add(c.id in repairs_with_complaint, keys)
        if c.process_key == COMPLAINT:
            kpis["closure"].add(c.id not in closure_breached, keys)

    criteria: dict[str, Ratio] = defaultdict(Ratio)
    criteria_by_month: dict[str, dict[str, Ratio]] = defaultdict(lambda: defaultdict(Ratio))
    for instance_id, at, entered in follow_ups:
        if process_of.get(instance_id) != REPAIR:
            continue
        month = month_of(at, zone)
        months.add(month)
        keys = {
            "month": month,
            "process": REPAIR,
            "technician": technicians.get(instance_id),
            "department": PROCESS_DEPARTMENT[REPAIR],
        }
        hits = total = 0
        for criterion in RATING_CRITERIA:
            rating = entered.get(criterion)
            if not rating:
                continue
            hit = rating in SATISFIED
            hits, total = hits + hit, total + 1
            criteria[criterion].add(hit)
            criteria_by_month[criterion][month].add(hit)
        if total:
            kpis["satisfaction"].add(False, keys, hits, total)

    open_breaches: dict[str, dict[str, int]] = {d: defaultdict(int) for d in DIMENSIONS}
    total_open = 0
    status_of = {c.id: c.status for c in cases}
    for instance_id, breached_at in session.execute(select(SlaBreach.instance_id, SlaBreach.breached_at)):
        if status_of.get(instance_id) not in ("running", "suspended", "error"):
            continue
        total_open += 1
        process_key = process_of[instance_id]
        month = month_of(breached_at, zone)
        for dimension, key in (
            ("month", month),
            ("process", process_key),
            ("technician", technicians.get(instance_id)),
            ("department", department(instance_id, process_key)),
        ):
            if key:
                open_breaches[dimension][key] += 1
    return Dashboard(
        kpis,
        dict(criteria),
        {k: dict(v) for k, v in criteria_by_month.items()},
        {d: dict(v) for d, v in open_breaches.items()},
        total_open,
        sorted(months),
    )


# --- monthly complaint statistics (客户投诉案件统计表) ----------------------------------------------


@dataclass
class ComplaintStatistics:
    month: str
    #: (category, responsible department) -> [cases, closed within limit, major]
    cells: dict[tuple[str, str], list[int]]
    categories: list[str]
    departments: list[str]
    total: int
    within_limit: int
    cases: list[dict[str, Any]]


def previous_month(today: date) -> str:
    """The month before ``today``'s, as YYYY-MM (the statistics are ready on the 1st)."""
    first = today.replace(day=1)
    last = date.fromordinal(first.toordinal() - 1)
    return last.strftime("%Y-%m")


def complaint_statistics(
    session: Session, month: str, timezone: str = "Asia/Shanghai"
) -> ComplaintStatistics:
    """Complaints received in ``month``, by category and responsible department."""
    zone = ZoneInfo(timezone)
    rows = session.execute(
        select(
            ProcessInstance.id,
            ProcessInstance.business_number,
            ProcessInstance.customer_name,
            ProcessInstance.status,
            ProcessInstance.started_at,
            ProcessInstance.ended_at,
        ).where(ProcessInstance.process_key == COMPLAINT)
    ).all()
    ids = [r.id for r in rows if month_of(r.started_at, zone) == month]
    chosen = set(ids)
    data: dict[int, dict[str, Any]] = defaultdict(dict)
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for instance_id, _action, payload in session.execute(
            select(Event.instance_id, Event.action, Event.data)
            .where(Event.instance_id.in_(chunk), Event.action.in_(("instance_started", "task_completed")))
            .order_by(Event.id)
        ):
            entered = (payload or {}).get("data") or {}
            if isinstance(entered, dict):
                data[instance_id].update(entered)
    closure_breached = (
        set(
            session.scalars(
                select(SlaBreach.instance_id).where(
                    SlaBreach.sla == "closure", SlaBreach.instance_id.in_(ids)
                )
            )
        )
        if ids
        else set()
    )
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    listed: list[dict[str, Any]] = []
    within = 0
    for r in rows:
        if r.id not in chosen:
            continue
        entered = data[r.id]
        category = entered.get("complaint_category") or "unclassified"
        dept = entered.get("responsible_department") or "undecided"
        closed_in_time = r.status == "completed" and r.id not in closure_breached
        severity = entered.get("severity") or ""
        cell = cells[(category, dept)]
        cell[0] += 1
        cell[1] += int(closed_in_time)
        cell[2] += int(severity == "major")
        within += int(closed_in_time)
        listed.append(
            {
                "id": r.id,
                "business_number": r.business_number,
                "customer_name": r.customer_name,
                "category": category,
                "department": dept,
                "severity": severity,
                "status": r.status,
                "closed_within_limit": closed_in_time,
                "started_at": r.started_at,
                "ended_at": r.ended_at,
            }
        )
    return ComplaintStatistics(
        month,
        dict(cells),
        sorted({k[0] for k in cells}),
        sorted({k[1] for k in cells}),
        len(listed),
        within,
        sorted(listed, key=lambda item: item["business_number"]),
    )
