"""Repair SLA due times on the working-time calendar, from the shared policy table ``sla_policy``.

Working-hour limits (the response: 4 working hours, 2 for emergencies [001 4.1]) skip nights,
weekends and Chinese public holidays and count make-up working days (调休); wall-clock limits
(arrival within 24 / 48 hours, remote areas 5 days [004 5.1.1.3, 000 篇三 4.2]) do not. The
2026 dates come from the ``chinese_calendar`` package: National Day Oct 1–7 (make-up working
days Sun Sep 20 and Sat Oct 10) and Mid-Autumn Sep 25–27. Working day 08:30–17:30, Shanghai.

Each due time is checked on the task (what the inbox shows) and on the boundary timer's job
(when the escalation fires), which must agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from sqlalchemy import select

from engine import clock
from engine.runtime import Engine
from engine.store.models import Job
from tests.conftest import diagram_files
from tests.scenarios.conftest import (
    as_user,
    complete_step,
    fire_timers,
    instance_row,
    open_task,
    shanghai,
    timers_fired,
)

CS, SUP = as_user("cs1"), as_user("sup1")
REQUEST: dict[str, Any] = {
    "customer_name": "华东人民医院",
    "customer_phone": "021-5555-0101",
    "product_model": "XR-200",
    "fault_description": "开机无显示",
    "urgency": "normal",
    "distance_band": "urban",
    "warranty_end": "2027-12-31",
    "cause": "normal",
}


def timer_due(engine: Engine, case: int, element_id: str) -> datetime:
    with engine.sessions() as session:
        (job,) = session.scalars(
            select(Job).where(Job.instance_id == case, Job.element_id == element_id, Job.done_at.is_(None))
        ).all()
        return job.due_at


def test_the_calendar_package_knows_the_2026_holidays_these_tests_rely_on() -> None:
    national_day = [date(2026, 10, day) for day in range(1, 8)]
    assert not any(chinese_calendar.is_workday(day) for day in national_day)
    assert chinese_calendar.is_workday(date(2026, 9, 20))  # Sunday, make-up working day
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # Saturday, make-up working day
    assert not any(chinese_calendar.is_workday(date(2026, 9, day)) for day in (25, 26, 27))  # Mid-Autumn


@pytest.mark.parametrize(
    ("scenario_time", "urgency", "due"),
    [
        pytest.param(
            shanghai(2026, 11, 20, 16, 0), "normal", shanghai(2026, 11, 23, 11, 0), id="over-a-weekend"
        ),
        pytest.param(
            shanghai(2026, 11, 23, 9, 0), "key_customer", shanghai(2026, 11, 23, 13, 0), id="same-day"
        ),
        pytest.param(
            shanghai(2026, 9, 30, 16, 30), "emergency", shanghai(2026, 10, 8, 9, 30), id="over-national-day"
        ),
        pytest.param(
            shanghai(2026, 10, 9, 16, 30),
            "normal",
            shanghai(2026, 10, 10, 11, 30),
            id="into-make-up-saturday",
        ),
        pytest.param(
            shanghai(2026, 9, 19, 10, 0),
            "normal",
            shanghai(2026, 9, 20, 12, 30),
            id="registered-before-make-up-sunday",
        ),
        pytest.param(
            shanghai(2026, 9, 24, 16, 30), "normal", shanghai(2026, 9, 28, 11, 30), id="over-mid-autumn"
        ),
    ],
)
def test_the_response_limit_counts_working_hours(
    scenario_engine: Engine, scenario_time: datetime, urgency: str, due: datetime
) -> None:
    engine = scenario_engine
    # 重点客户 is a class of customer, not an urgency [001 4.1]: a normal request of a key customer.
    request = (
        {**REQUEST, "urgency": "normal", "key_customer": True}
        if urgency == "key_customer"
        else {**REQUEST, "urgency": urgency}
    )
    case = engine.start("repair_service", request, CS).id
    assert open_task(engine, case, "task_remote_guidance").due_at == due
    assert timer_due(engine, case, "timer_response_late") == due

    clock.freeze(due - timedelta(minutes=1))
    fire_timers(engine)
    assert timers_fired(engine, case) == [] and not instance_row(engine, case).late
    clock.freeze(due + timedelta(minutes=1))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_response_late"] and instance_row(engine, case).late


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 9, 30, 16, 30)])
@pytest.mark.parametrize(
    ("distance_band", "arrival"),
    [
        pytest.param("within_300km", shanghai(2026, 10, 1, 16, 30), id="24-hours"),
        pytest.param("within_1000km", shanghai(2026, 10, 2, 16, 30), id="48-hours"),
        pytest.param("over_1000km", shanghai(2026, 10, 3, 16, 30), id="72-hours"),
        pytest.param("remote", shanghai(2026, 10, 5, 16, 30), id="5-days"),
    ],
)
def test_the_arrival_limit_counts_wall_clock_hours_through_the_holiday(
    scenario_engine: Engine, distance_band: str, arrival: datetime
) -> None:
    engine = scenario_engine
    case = engine.start("repair_service", {**REQUEST, "distance_band": distance_band}, CS).id
    clock.advance(timedelta(minutes=20))
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    # The dispatch limit is 2 working days from acceptance: the holiday week does not count (Oct 8, Oct 9).
    assert open_task(engine, case, "task_dispatch").due_at == shanghai(2026, 10, 9, 16, 30)
    clock.advance(timedelta(minutes=10))
    complete_step(engine, case, "task_dispatch", {"technician": "tech1"}, SUP)
    # The arrival limit runs from the call in plain hours, holidays included.
    assert open_task(engine, case, "task_arrival").due_at == arrival
    assert timer_due(engine, case, "timer_arrival_late") == arrival


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 10, 9, 9, 0)])  # Friday before the make-up Saturday
def test_a_working_day_limit_lands_on_a_make_up_working_day(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = engine.start("repair_service", REQUEST, CS).id
    clock.advance(timedelta(hours=1))
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    # 2 working days from acceptance on Friday Oct 9: Saturday Oct 10 (make-up) and Monday Oct 12.
    assert open_task(engine, case, "task_dispatch").due_at == shanghai(2026, 10, 12, 9, 0)
    assert timer_due(engine, case, "timer_dispatch_late") == shanghai(2026, 10, 12, 9, 0)


def edited_policy(response_hours: int, dispatch_days: int) -> dict[str, str]:
    files = diagram_files()
    text = files["sla_policy.dmn"]
    for rule, value in (
        ("rule_repair_response_default_amount", response_hours),
        ("rule_repair_dispatch_default_amount", dispatch_days),
    ):
        old = f'<outputEntry id="{rule}"><text>'
        start = text.index(old) + len(old)
        end = text.index("</text>", start)
        text = text[:start] + str(value) + text[end:]
    files["sla_policy.dmn"] = text
    return files


def test_a_policy_change_deployed_applies_to_new_cases_only(scenario_engine: Engine) -> None:
    engine = scenario_engine  # Monday 2026-11-23 09:00
    running = engine.start("repair_service", REQUEST, CS).id
    assert open_task(engine, running, "task_remote_guidance").due_at == shanghai(2026, 11, 23, 13, 0)

    clock.advance(timedelta(minutes=30))
    report = engine.deploy(edited_policy(response_hours=8, dispatch_days=1), deployed_by="owner1")
    assert ("repair_service", 2) in report.deployed
    new = engine.start("repair_service", REQUEST, CS).id
    assert instance_row(engine, running).definition.version == 1
    assert instance_row(engine, new).definition.version == 2

    # The running case keeps its due time and its timer; the new case gets the new limit.
    assert open_task(engine, running, "task_remote_guidance").due_at == shanghai(2026, 11, 23, 13, 0)
    assert timer_due(engine, running, "timer_response_late") == shanghai(2026, 11, 23, 13, 0)
    assert open_task(engine, new, "task_remote_guidance").due_at == shanghai(2026, 11, 23, 17, 30)
    # Later steps of the running case still follow the policy it started with.
    complete_step(engine, running, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete_step(engine, new, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    assert open_task(engine, running, "task_dispatch").due_at == shanghai(2026, 11, 25, 9, 0)
    assert open_task(engine, new, "task_dispatch").due_at == shanghai(2026, 11, 24, 9, 30)
