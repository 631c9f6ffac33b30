"""A calendar change re-times the working-time due times counted over the changed day.

A repair case registered on Friday 2026-12-18 16:00 (Shanghai) has 4 working hours to
respond: 1.5 h on Friday, 2.5 h from Monday 08:30 → Monday 2026-12-21 11:00. Declaring that
Monday a company holiday moves the task's due time and the response timer to Tuesday 11:00,
audits the move on the case, and the timer fires at the new time, once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.calendar import store
from engine.calendar.package_days import HOLIDAY, SpecialDay
from engine.models import Event, Job
from engine.retiming import RETIMED, change_calendar
from engine.runtime import Engine
from processes.wiring import build_engine
from tests.scenarios.conftest import as_user, fire_timers, open_task, shanghai, timers_fired

CS, ADMIN = as_user("cs1"), as_user("admin")
REQUEST = {
    "customer_name": "华东人民医院",
    "customer_phone": "021-5555-0101",
    "product_model": "XR-200",
    "fault_description": "开机无显示",
    "urgency": "normal",
    "distance_band": "urban",
    "warranty_end": "2027-12-31",
    "cause": "normal",
}
MONDAY = date(2026, 12, 21)


@pytest.fixture
def scenario_time() -> datetime:
    return shanghai(2026, 12, 18, 16, 0)


def response_job(engine: Engine, case: int) -> Job:
    with engine.sessions() as session:
        (job,) = session.scalars(
            select(Job).where(
                Job.instance_id == case, Job.element_id == "timer_response_late", Job.done_at.is_(None)
            )
        ).all()
        return job


def declare_holiday(engine: Engine, day: date) -> int:
    moved = change_calendar(
        engine,
        lambda session: store.set_days(session, [SpecialDay(day, HOLIDAY, "公司停工")], ADMIN.username),
        ADMIN,
    )
    return len(moved)


def test_a_new_holiday_moves_the_response_timer_and_the_task_due_time(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = engine.start("repair_service", REQUEST, CS).id
    task = open_task(engine, case, "task_remote_guidance")
    assert task.due_at == shanghai(2026, 12, 21, 11, 0)
    assert task.due_basis is not None and task.due_basis["unit"] == "working_hours"
    assert response_job(engine, case).due_at == shanghai(2026, 12, 21, 11, 0)

    assert declare_holiday(engine, MONDAY) == 2  # the timer and the task

    assert open_task(engine, case, "task_remote_guidance").due_at == shanghai(2026, 12, 22, 11, 0)
    assert response_job(engine, case).due_at == shanghai(2026, 12, 22, 11, 0)
    with engine.sessions() as session:
        audit = session.scalars(
            select(Event).where(Event.instance_id == case, Event.action == RETIMED).order_by(Event.id)
        ).all()
    assert {(e.data or {})["kind"] for e in audit} == {"timer", "task"}
    assert all(e.actor == "admin" for e in audit)
    assert {(e.data or {})["to"] for e in audit} == {shanghai(2026, 12, 22, 11, 0).isoformat()}

    clock.freeze(shanghai(2026, 12, 21, 11, 1))  # the old due time has passed: nothing fires
    fire_timers(engine)
    assert timers_fired(engine, case) == []
    clock.freeze(shanghai(2026, 12, 22, 11, 1))
    fire_timers(engine)
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_response_late"]


def test_a_change_after_the_due_time_or_a_second_run_moves_nothing(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = engine.start("repair_service", REQUEST, CS).id
    assert declare_holiday(engine, date(2026, 12, 24)) == 0  # after Monday's due time
    assert declare_holiday(engine, MONDAY) == 2
    assert declare_holiday(engine, MONDAY) == 0  # already counted on this calendar
    assert open_task(engine, case, "task_remote_guidance").due_at == shanghai(2026, 12, 22, 11, 0)


def test_wall_clock_limits_are_not_moved(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = engine.start("repair_service", {**REQUEST, "distance_band": "within_300km"}, CS).id
    clock.advance(timedelta(minutes=20))
    engine.complete(open_task(engine, case, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    clock.advance(timedelta(minutes=10))
    engine.complete(open_task(engine, case, "task_dispatch").id, {"technician": "tech1"}, as_user("sup1"))
    arrival = open_task(engine, case, "task_arrival")
    assert arrival.due_at == shanghai(2026, 12, 19, 16, 0)  # 24 wall-clock hours from the call
    assert arrival.due_basis is None
    declare_holiday(engine, date(2026, 12, 19))
    assert open_task(engine, case, "task_arrival").due_at == shanghai(2026, 12, 19, 16, 0)


def test_another_process_sees_the_change_without_a_restart(scenario_engine: Engine) -> None:
    other = build_engine(scenario_engine.db)  # a second web or worker process on the same database
    first = other.start("repair_service", REQUEST, CS).id
    assert open_task(other, first, "task_remote_guidance").due_at == shanghai(2026, 12, 21, 11, 0)
    declare_holiday(scenario_engine, MONDAY)
    second = other.start("repair_service", REQUEST, CS).id
    assert open_task(other, second, "task_remote_guidance").due_at == shanghai(2026, 12, 22, 11, 0)
