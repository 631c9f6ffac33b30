"""The regulations' KPIs (SPEC §8), aggregated from the KPI read model (``engine.kpi_facts``).

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

Dimensions: month, process, technician (the technician of a repair: the assignee of its latest
technician task that has one) and department (the department owning the process; for complaints
the responsible department quality decided, when there is one).

``current_dashboard`` refreshes the read model (only the cases changed since the last view) and
aggregates it with ``GROUP BY``; ``compute`` is the aggregation alone.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.case_queries import OPEN_STATUSES  # cases not ended: their breaches are open
from engine.kpi_facts import (
    COMPLAINT,
    DEPARTMENT_FIELD,
    PROCESS_DEPARTMENT,
    RATING_CRITERIA,
    REPAIR,
    is_current,
    month_of,
    refresh,
)
from engine.models import Event, KpiCase, KpiFollowUp, ProcessDefinition, ProcessInstance, SlaBreach

if TYPE_CHECKING:
    from engine.runtime import Engine

#: Targets of SPEC §8, the strictest source: (value, comparison, source). These are the defaults;
#: the policy table's rows whose process is ``kpi`` (stage = KPI name) override them, so another
#: company's targets are a table edit, not code.
TARGETS: dict[str, tuple[float, str, str]] = {
    "timeliness": (0.95, ">", "[001] > 95 %, [004] ≥ 90 %"),
    "satisfaction": (0.95, ">", "[001] > 95 %, [004] ≥ 85 %"),
    "complaint_rate": (0.02, "<", "[001] < 2 %, [004] < 3 %"),
    "closure": (1.0, "≥", "[001] 5 / 7 days"),
}
KPI_NAMES = ("timeliness", "satisfaction", "complaint_rate", "closure")
#: The policy table holding the targets, and the process whose versions carry it.
POLICY_FILE = "sla_policy.dmn"
POLICY_PROCESS = REPAIR
TARGET_PROCESS = "kpi"
DIMENSIONS = ("month", "process", "technician", "department")
#: Form fields the complaint statistics read, and what they show where a complaint has none yet.
CATEGORY_FIELD = "complaint_category"
SEVERITY_FIELD = "severity"
UNCLASSIFIED = "unclassified"
UNDECIDED = "undecided"


@dataclass
class Ratio:
    """A share of cases (or ratings): hits over all."""

    hits: int = 0
    total: int = 0

    def add(self, hits: int, total: int) -> None:
        """Count ``hits`` out of ``total`` more cases (or ratings)."""
        self.hits += hits
        self.total += total

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

    def add(self, keys: dict[str, str | None], hits: int, total: int) -> None:
        """Count ``hits`` out of ``total`` overall and under each dimension's key."""
        self.overall.add(hits, total)
        for dimension, key in keys.items():
            if key:
                self.by[dimension][key].add(hits, total)


@dataclass
class Dashboard:
    kpis: dict[str, Kpi]
    criteria: dict[str, Ratio]
    criteria_by_month: dict[str, dict[str, Ratio]]
    open_breaches: dict[str, dict[str, int]]
    open_breaches_total: int
    months: list[str]
    targets: dict[str, tuple[float, str, str]] = field(default_factory=lambda: dict(TARGETS))


def targets(session: Session) -> dict[str, tuple[float, str, str]]:
    """The KPI targets of the newest deployed policy table (rows ``kpi`` / KPI name), else the defaults."""
    files = session.scalar(
        select(ProcessDefinition.files)
        .where(ProcessDefinition.process_key == POLICY_PROCESS)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    found = dict(TARGETS)
    text = (files or {}).get(POLICY_FILE)
    if text:
        found.update(_targets_in(text))
    return found


def _targets_in(text: str) -> dict[str, tuple[float, str, str]]:
    """The target rows of a policy table: input cells 'kpi' and the KPI name, outputs value and comparison."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(text.encode(), parser)
    except etree.XMLSyntaxError:
        return {}
    found: dict[str, tuple[float, str, str]] = {}
    for rule in root.iter("{*}rule"):
        inputs = [(cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}inputEntry")]
        outputs = [(cell.findtext("{*}text") or "").strip() for cell in rule.findall("{*}outputEntry")]
        if len(inputs) < 2 or len(outputs) < 2:
            continue
        try:
            process, name = ast.literal_eval(inputs[0]), ast.literal_eval(inputs[1])
            value, comparison = float(ast.literal_eval(outputs[0])), str(ast.literal_eval(outputs[1]))
        except (ValueError, SyntaxError, TypeError):
            continue  # a row of another kind (an expression, not a literal)
        if process == TARGET_PROCESS and name in KPI_NAMES and name not in found:  # the first row wins
            found[name] = (value, comparison, (rule.findtext("{*}description") or "").strip())
    return found


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM month."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def current_dashboard(engine: Engine, timezone: str = "Asia/Shanghai") -> Dashboard:
    """Every KPI as of now: refresh the read model where cases changed, then aggregate it."""
    with engine.sessions() as session:
        if is_current(session, timezone):
            return compute(session, timezone)
    with engine.writer.begin() as session:
        refresh(session, timezone)
        return compute(session, timezone)


def _yes(column: Any) -> Any:
    """SUM of a boolean column, portable (SQLite stores 0/1, PostgreSQL booleans)."""
    return func.sum(case((column, 1), else_=0))


def compute(session: Session, timezone: str = "Asia/Shanghai") -> Dashboard:
    """Aggregate every KPI with its breakdowns from the read model (refreshed by the caller)."""
    zone = ZoneInfo(timezone)
    kpis = {name: Kpi(name) for name in KPI_NAMES}
    months: set[str] = set()
    completed = (
        select(
            KpiCase.ended_month,
            KpiCase.process_key,
            KpiCase.technician,
            KpiCase.department,
            func.count(),
            func.count() - _yes(KpiCase.breached),
            _yes(KpiCase.complained),
            func.count() - _yes(KpiCase.closure_breached),
        )
        .where(KpiCase.status == "completed", KpiCase.ended_month.is_not(None))
        .group_by(KpiCase.ended_month, KpiCase.process_key, KpiCase.technician, KpiCase.department)
    )
    for (
        month,
        process_key,
        technician,
        department,
        total,
        on_time,
        complained,
        closed_in_time,
    ) in session.execute(completed):
        months.add(month)
        keys = {"month": month, "process": process_key, "technician": technician, "department": department}
        kpis["timeliness"].add(keys, int(on_time), int(total))
        if process_key == REPAIR:
            kpis["complaint_rate"].add(keys, int(complained), int(total))
        if process_key == COMPLAINT:
            kpis["closure"].add(keys, int(closed_in_time), int(total))

    criteria: dict[str, Ratio] = defaultdict(Ratio)
    criteria_by_month: dict[str, dict[str, Ratio]] = defaultdict(lambda: defaultdict(Ratio))
    columns = [getattr(KpiFollowUp, criterion) for criterion in RATING_CRITERIA]
    rated = (
        select(
            KpiFollowUp.month,
            KpiCase.technician,
            *(func.count(column) for column in columns),  # COUNT skips the criteria not rated
            *(_yes(column) for column in columns),
        )
        .join(KpiCase, KpiCase.instance_id == KpiFollowUp.instance_id)
        .group_by(KpiFollowUp.month, KpiCase.technician)
    )
    for month, technician, *counts in session.execute(rated):
        months.add(month)
        keys = {
            "month": month,
            "process": REPAIR,
            "technician": technician,
            "department": PROCESS_DEPARTMENT[REPAIR],
        }
        totals, satisfied = counts[: len(columns)], counts[len(columns) :]
        for criterion, total, hits in zip(RATING_CRITERIA, totals, satisfied, strict=True):
            if total:
                criteria[criterion].add(int(hits), int(total))
                criteria_by_month[criterion][month].add(int(hits), int(total))
        kpis["satisfaction"].add(keys, int(sum(satisfied)), int(sum(totals)))

    open_breaches: dict[str, dict[str, int]] = {d: defaultdict(int) for d in DIMENSIONS}
    total_open = 0
    breaches = (
        select(SlaBreach.breached_at, KpiCase.process_key, KpiCase.technician, KpiCase.department)
        .join(KpiCase, KpiCase.instance_id == SlaBreach.instance_id)
        .where(KpiCase.status.in_(OPEN_STATUSES))
    )
    for breached_at, process_key, technician, department in session.execute(breaches):
        total_open += 1
        for dimension, key in (
            ("month", month_of(breached_at, zone)),
            ("process", process_key),
            ("technician", technician),
            ("department", department),
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
        targets(session),
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
    #: responsible department -> (cases, share of the month's closed complaints) [001 6 比率]
    responsibility: dict[str, tuple[int, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The table as plain JSON (for the case that prepares and signs it off)."""
        return {
            "month": self.month,
            "total": self.total,
            "within_limit": self.within_limit,
            "cells": [
                {"category": cat, "department": dept, "cases": n, "within_limit": ok, "major": major}
                for (cat, dept), (n, ok, major) in sorted(self.cells.items())
            ],
            "responsibility": [
                {"department": dept, "cases": n, "ratio": round(ratio, 4)}
                for dept, (n, ratio) in sorted(self.responsibility.items())
            ],
            "cases": [item["business_number"] for item in self.cases],
        }


def previous_month(today: date) -> str:
    """The month before ``today``'s, as YYYY-MM (the statistics are ready on the 1st)."""
    first = today.replace(day=1)
    last = date.fromordinal(first.toordinal() - 1)
    return last.strftime("%Y-%m")


def complaint_statistics(
    session: Session, month: str, timezone: str = "Asia/Shanghai"
) -> ComplaintStatistics:
    """Complaints closed in ``month``, by category and responsible department, with its ratio [001 6].

    "每月10日前汇总上月份结案的案件": a complaint counts in the month it was closed (completed),
    not the month it was received; one still open counts in no month yet.
    """
    zone = ZoneInfo(timezone)
    rows = session.execute(
        select(
            ProcessInstance.id,
            ProcessInstance.business_number,
            ProcessInstance.customer_name,
            ProcessInstance.status,
            ProcessInstance.started_at,
            ProcessInstance.ended_at,
        ).where(
            ProcessInstance.process_key == COMPLAINT,
            ProcessInstance.status == "completed",
            ProcessInstance.ended_at.is_not(None),
        )
    ).all()
    ids = [r.id for r in rows if month_of(r.ended_at, zone) == month]
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
        category = entered.get(CATEGORY_FIELD) or UNCLASSIFIED
        dept = entered.get(DEPARTMENT_FIELD) or UNDECIDED
        closed_in_time = r.status == "completed" and r.id not in closure_breached
        severity = entered.get(SEVERITY_FIELD) or ""
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
    by_department: dict[str, int] = defaultdict(int)
    for item in listed:
        by_department[item["department"]] += 1
    return ComplaintStatistics(
        month,
        dict(cells),
        sorted({k[0] for k in cells}),
        sorted({k[1] for k in cells}),
        len(listed),
        within,
        sorted(listed, key=lambda item: item["business_number"]),
        {dept: (n, n / len(listed)) for dept, n in by_department.items()},
    )
