"""Each KPI on generated cases equals the value computed here, independently, from the audit log.

The KPI module reads its read model (``processes.kpis.facts``, built from the projections:
``sla_breach``, instance status, technician tasks); this test reads only the ``event`` table (and
the deployed versions, to know which timers are SLA timers), as an inspector replaying the log
would. The read model is refreshed case by case as cases change: after more months of real
work, the refreshed model must equal one built from scratch.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.accounts.users import Actor
from engine.runtime import Engine
from engine.store.models import Event, ProcessDefinition, ProcessInstance, SlaBreach, Task
from processes.demo.load import load_cases
from processes.kpis import facts as kpi_facts
from processes.kpis.dashboard import Dashboard, compute, current_dashboard
from processes.kpis.facts import RATING_CRITERIA, SATISFIED, month_of
from processes.oversight.cases import CaseFilter, list_cases
from tests.integration.generated import END, generated_engine, prepare
from web.oversight.figures import KPI_CASES

SHANGHAI = "Asia/Shanghai"
SUPERVISOR = Actor("sup1", frozenset({"service_supervisor"}))


class Log:
    """The audit log, replayed."""

    def __init__(self, engine: Engine) -> None:
        with engine.sessions() as session:
            self.events = list(session.scalars(select(Event).order_by(Event.id)))
            sla_timers = set()
            for definition in session.scalars(select(ProcessDefinition)):
                for element, props in definition.meta.get("element_properties", {}).items():
                    if props.get("sla"):
                        sla_timers.add(element)
        self.sla_timers = sla_timers
        self.process: dict[int, str] = {}
        self.by_case: dict[int, list[Event]] = defaultdict(list)
        for event in self.events:
            if event.instance_id is None:
                continue
            self.by_case[event.instance_id].append(event)
            if event.action == "instance_started":
                number = ((event.data or {}).get("data") or {}).get("business_number", "")
                self.process[event.instance_id] = number.split("-")[0]

    def cases(self, prefix: str | None = None) -> list[int]:
        return [i for i, p in self.process.items() if prefix is None or p == prefix]

    def did(self, case: int, action: str, element: str | None = None) -> bool:
        return any(
            e.action == action and (element is None or e.element_id == element) for e in self.by_case[case]
        )

    def completed(self, prefix: str | None = None) -> list[int]:
        return [c for c in self.cases(prefix) if self.did(c, "instance_completed")]

    def breached(self, case: int) -> bool:
        return any(e.action == "timer_fired" and e.element_id in self.sla_timers for e in self.by_case[case])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Log]:
    """45 generated cases (SQLite, once for the module: the KPIs only read)."""
    engine = generated_engine(tmp_path_factory.mktemp("kpis"), 45, seed=5)
    return engine, Log(engine)


def _value(engine: Engine) -> Dashboard:
    return current_dashboard(engine, SHANGHAI)


def test_service_timeliness_is_completed_cases_without_a_fired_sla_timer(
    generated: tuple[Engine, Log],
) -> None:
    engine, log = generated
    completed = log.completed()
    on_time = [c for c in completed if not log.breached(c)]
    kpi = _value(engine).kpis["timeliness"].overall
    assert completed and len(on_time) < len(completed), "the data has both kinds"
    assert (kpi.hits, kpi.total) == (len(on_time), len(completed))
    by_process = _value(engine).kpis["timeliness"].by["process"]["repair_service"]
    repairs = log.completed("RO")
    assert (by_process.hits, by_process.total) == (
        len([c for c in repairs if not log.breached(c)]),
        len(repairs),
    )
    zone = ZoneInfo(SHANGHAI)
    by_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for event in log.events:
        if event.action == "instance_completed" and event.instance_id in completed:
            cell = by_month[month_of(event.at, zone)]
            cell[0] += not log.breached(event.instance_id)
            cell[1] += 1
    months = _value(engine).kpis["timeliness"].by["month"]
    assert {m: [r.hits, r.total] for m, r in months.items()} == dict(by_month)


def _ratings(log: Log) -> dict[str, list[str]]:
    """Every rating of a repair follow-up card in the log, by criterion."""
    ratings: dict[str, list[str]] = defaultdict(list)
    for event in log.events:
        if event.action == "task_completed" and event.element_id == "task_follow_up":
            if log.process.get(event.instance_id or 0) != "RO":
                continue
            data = (event.data or {}).get("data") or {}
            for criterion in RATING_CRITERIA:
                if data.get(criterion):
                    ratings[criterion].append(data[criterion])
    return ratings


def test_customer_satisfaction_is_the_share_of_satisfied_follow_up_ratings(
    generated: tuple[Engine, Log],
) -> None:
    engine, log = generated
    ratings = _ratings(log)
    everything = [r for values in ratings.values() for r in values]
    board = _value(engine)
    assert everything
    assert (board.kpis["satisfaction"].overall.hits, board.kpis["satisfaction"].overall.total) == (
        sum(r in SATISFIED for r in everything),
        len(everything),
    )
    for criterion, values in ratings.items():
        assert board.criteria[criterion].hits == sum(r in SATISFIED for r in values)
        assert board.criteria[criterion].total == len(values)


def test_complaint_rate_is_completed_repairs_named_by_a_complaint_attributed_to_the_service(
    generated: tuple[Engine, Log],
) -> None:
    """ "确属服务责任的" [001]: the complaint names the repair and its cause analysis blames the service."""
    engine, log = generated
    number_of = {
        case: ((events[0].data or {}).get("data") or {}).get("business_number")
        for case, events in log.by_case.items()
        if events and events[0].action == "instance_started"
    }
    blamed: set[str] = set()
    for complaint in log.cases("CP"):
        started = (log.by_case[complaint][0].data or {}).get("data") or {}
        department = verdict = None
        for event in log.by_case[complaint]:
            entered = (event.data or {}).get("data") or {}
            if event.action == "task_completed" and event.element_id == "task_cause_analysis":
                department = entered.get("responsible_department")
            if event.action == "task_completed" and event.element_id == "task_investigation":
                verdict = entered.get("complaint_substantiated")
        if started.get("repair_order") and department == "after_sales" and verdict != "no":
            blamed.add(started["repair_order"])
    repairs = log.completed("RO")
    complained = [c for c in repairs if number_of.get(c) in blamed]
    kpi = _value(engine).kpis["complaint_rate"].overall
    assert (kpi.hits, kpi.total) == (len(complained), len(repairs))


def test_complaint_closure_is_closed_complaints_whose_closure_timer_never_fired(
    generated: tuple[Engine, Log],
) -> None:
    engine, log = generated
    closed = log.completed("CP")
    in_time = [c for c in closed if not log.did(c, "timer_fired", "timer_closure_limit")]
    kpi = _value(engine).kpis["closure"]
    assert closed
    assert (kpi.overall.hits, kpi.overall.total) == (len(in_time), len(closed))
    # By the department quality made responsible in the cause analysis (quality itself if none).
    by_department: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in closed:
        department = "quality"
        for event in log.by_case[case]:
            if event.action == "task_completed" and event.element_id == "task_cause_analysis":
                department = ((event.data or {}).get("data") or {}).get(
                    "responsible_department"
                ) or department
        by_department[department][0] += case in in_time
        by_department[department][1] += 1
    assert len(by_department) > 1, "the complaints were put on more than one department"
    assert {d: [r.hits, r.total] for d, r in kpi.by["department"].items()} == dict(by_department)


def test_open_breaches_are_fired_sla_timers_of_cases_not_ended(generated: tuple[Engine, Log]) -> None:
    engine, log = generated
    ended = {c for c in log.cases() if log.did(c, "instance_completed") or log.did(c, "instance_terminated")}
    expected = sum(
        1
        for e in log.events
        if e.action == "timer_fired" and e.element_id in log.sla_timers and e.instance_id not in ended
    )
    assert _value(engine).open_breaches_total == expected


def _plain(board: Dashboard) -> dict[str, Any]:
    """Every figure of a dashboard as plain values, to compare two dashboards."""
    return {
        "kpis": {
            name: (
                (kpi.overall.hits, kpi.overall.total),
                {d: {k: (r.hits, r.total) for k, r in keys.items()} for d, keys in kpi.by.items()},
            )
            for name, kpi in board.kpis.items()
        },
        "criteria": {c: (r.hits, r.total) for c, r in board.criteria.items()},
        "criteria_by_month": {
            c: {m: (r.hits, r.total) for m, r in months.items()}
            for c, months in board.criteria_by_month.items()
        },
        "open_breaches": board.open_breaches,
        "open_total": board.open_breaches_total,
        "months": board.months,
    }


def _rebuilt(engine: Engine, timezone: str = SHANGHAI) -> Dashboard:
    with engine.writer.begin() as session:
        kpi_facts.forget(session)
    return current_dashboard(engine, timezone)


def _case_count(engine: Engine) -> int:
    with engine.sessions() as session:
        return session.scalar(select(func.count(ProcessInstance.id))) or 0


def test_the_read_model_follows_changed_cases_only_and_equals_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    engine = generated_engine(tmp_path_factory.mktemp("kpis-moving"), 24, seed=11)
    before = _plain(_value(engine))
    assert _plain(_value(engine)) == before  # nothing moved: the same figures, nothing recomputed
    with engine.writer.begin() as session:
        assert kpi_facts.refresh(session, SHANGHAI) == 0
    cases_then = _case_count(engine)

    # Three more weeks of real work (new cases, old cases' timers firing), then a supervisor
    # hands a technician task to tech2, suspends one running case and terminates another.
    load_cases(engine, 10, seed=15, end=END + timedelta(days=21), days=21)
    with engine.sessions() as session:
        running = list(
            session.scalars(
                select(ProcessInstance.id)
                .where(ProcessInstance.status == "running", ProcessInstance.id <= cases_then)
                .order_by(ProcessInstance.id)
            )
        )
        technician_task = session.scalar(
            select(Task.id)
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(Task.role == "technician", Task.state == "open", ProcessInstance.status == "running")
            .order_by(Task.instance_id)
        )
    assert len(running) >= 2 and technician_task is not None, "the generated data leaves work open"
    clock.freeze(END + timedelta(days=21, hours=1))
    engine.assign(technician_task, "tech2", SUPERVISOR)  # first: its case may be one of the two below
    engine.suspend(running[0], SUPERVISOR, "等待配件")
    engine.terminate(running[1], SUPERVISOR, "客户撤销")

    with engine.writer.begin() as session:
        recomputed = kpi_facts.refresh(session, SHANGHAI)
        after = _plain(compute(session, SHANGHAI))
    assert 0 < recomputed < _case_count(engine), "only the cases that changed are recomputed"
    assert after != before
    assert after == _plain(_rebuilt(engine))
    log = Log(engine)
    assert after["open_total"] == sum(
        1
        for e in log.events
        if e.action == "timer_fired"
        and e.element_id in log.sla_timers
        and not (
            log.did(e.instance_id or 0, "instance_completed")
            or log.did(e.instance_id or 0, "instance_terminated")
        )
    )


def test_months_are_recounted_when_the_company_timezone_changes(generated: tuple[Engine, Log]) -> None:
    engine, log = generated
    _value(engine)
    for timezone in ("America/Los_Angeles", SHANGHAI):
        with engine.writer.begin() as session:
            assert kpi_facts.refresh(session, timezone) == _case_count(engine)  # every case, anew
            board = compute(session, timezone)
        zone = ZoneInfo(timezone)
        completed = set(log.completed())
        expected: dict[str, int] = defaultdict(int)
        for event in log.events:
            if event.action == "instance_completed" and event.instance_id in completed:
                expected[month_of(event.at, zone)] += 1
        assert {m: r.total for m, r in board.kpis["timeliness"].by["month"].items()} == dict(expected)


def test_the_read_model_reads_form_data_and_breaches_alike_on_each_database(engine: Engine) -> None:
    """Follow-up ratings are extracted from the audit log's JSON by the database itself.

    Four managers open the dashboard at once while every case is new to the read model: their
    refreshes take turns (the ``kpi_state`` row lock, SQLite's write lock) and all see the same
    figures.
    """
    assert _value(engine).kpis["timeliness"].overall.total == 0  # the read model exists, empty
    load_cases(prepare(engine), 14, seed=3, end=END, days=45)
    log = Log(engine)
    together = threading.Barrier(4)

    def first_view(_: int) -> dict[str, Any]:
        together.wait(timeout=30)
        return _plain(_value(engine))

    with ThreadPoolExecutor(4) as pool:
        views = list(pool.map(first_view, range(4)))
    assert all(view == views[0] for view in views)
    board = _value(engine)
    assert _plain(board) == views[0]
    ratings = _ratings(log)
    assert ratings, "the generated cases include rated follow-ups"
    assert {c: (r.hits, r.total) for c, r in board.criteria.items()} == {
        c: (sum(v in SATISFIED for v in values), len(values)) for c, values in ratings.items()
    }
    completed = log.completed()
    on_time = [c for c in completed if not log.breached(c)]
    timeliness = board.kpis["timeliness"].overall
    assert (timeliness.hits, timeliness.total) == (len(on_time), len(completed))


def test_each_breakdown_figure_links_to_the_cases_it_counts(generated: tuple[Engine, Log]) -> None:
    """The case list behind a figure (the dashboard's link filters) holds exactly what it counts."""
    engine, _log = generated
    board = _value(engine)
    checked = 0
    with engine.sessions() as session:
        for name in ("timeliness", "complaint_rate", "closure"):  # satisfaction counts ratings, not cases
            for dimension in ("process", "technician", "department"):
                for key, ratio in board.kpis[name].by[dimension].items():
                    behind = CaseFilter(**{**KPI_CASES[name], dimension: key}, timezone=SHANGHAI)
                    assert list_cases(session, behind).total == ratio.total, (name, dimension, key)
                    checked += 1
        for dimension in ("process", "technician", "department"):
            for key, count in board.open_breaches[dimension].items():
                behind = CaseFilter(breached="open", timezone=SHANGHAI, **{dimension: key})
                cases = [row.id for row in list_cases(session, behind, everything=True).rows]
                breaches = session.scalar(
                    select(func.count(SlaBreach.id)).where(SlaBreach.instance_id.in_(cases))
                )
                assert breaches == count, (dimension, key)
                checked += 1
    assert checked > 10
