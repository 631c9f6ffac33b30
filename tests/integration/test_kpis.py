"""Each KPI on generated cases equals the value computed here, independently, from the audit log.

The KPI module reads the projections (``sla_breach``, instance status, technician tasks); this
test reads only the ``event`` table (and the deployed versions, to know which timers are SLA
timers), as an inspector replaying the log would.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from engine.kpis import RATING_CRITERIA, SATISFIED, compute
from engine.models import Event, ProcessDefinition
from engine.runtime import Engine
from tests.integration.generated import generated_engine


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


def _value(engine: Engine) -> Any:
    with engine.sessions() as session:
        return compute(session)


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


def test_customer_satisfaction_is_the_share_of_satisfied_follow_up_ratings(
    generated: tuple[Engine, Log],
) -> None:
    engine, log = generated
    ratings: dict[str, list[str]] = defaultdict(list)
    for event in log.events:
        if event.action == "task_completed" and event.element_id == "task_follow_up":
            if log.process.get(event.instance_id or 0) != "RO":
                continue
            data = (event.data or {}).get("data") or {}
            for criterion in RATING_CRITERIA:
                if data.get(criterion):
                    ratings[criterion].append(data[criterion])
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


def test_complaint_rate_is_completed_repairs_that_started_a_complaint(generated: tuple[Engine, Log]) -> None:
    engine, log = generated
    repairs = log.completed("RO")
    complained = [
        c
        for c in repairs
        if any(
            e.action == "linked_case_started" and (e.data or {}).get("process") == "complaint"
            for e in log.by_case[c]
        )
    ]
    kpi = _value(engine).kpis["complaint_rate"].overall
    assert (kpi.hits, kpi.total) == (len(complained), len(repairs))


def test_complaint_closure_is_closed_complaints_whose_closure_timer_never_fired(
    generated: tuple[Engine, Log],
) -> None:
    engine, log = generated
    closed = log.completed("CP")
    in_time = [c for c in closed if not log.did(c, "timer_fired", "timer_closure_limit")]
    kpi = _value(engine).kpis["closure"].overall
    assert closed
    assert (kpi.hits, kpi.total) == (len(in_time), len(closed))


def test_open_breaches_are_fired_sla_timers_of_cases_not_ended(generated: tuple[Engine, Log]) -> None:
    engine, log = generated
    ended = {c for c in log.cases() if log.did(c, "instance_completed") or log.did(c, "instance_terminated")}
    expected = sum(
        1
        for e in log.events
        if e.action == "timer_fired" and e.element_id in log.sla_timers and e.instance_id not in ended
    )
    assert _value(engine).open_breaches_total == expected
