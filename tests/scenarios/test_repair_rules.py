"""Repair rules found only in the seeds, driven through the real repair diagram.

- Out of warranty, the technician sets out within 24 hours of the customer's confirmation of
  the fee [004 5.2.1.5], not within the in-warranty dispatch limit counted from acceptance.
"""

from __future__ import annotations

from datetime import timedelta

from engine import clock
from engine.runtime import Engine
from tests.scenarios.conftest import complete_step, fire_timers, open_task, shanghai, sla_breaches
from tests.scenarios.test_repair import CS, SUP, not_solved_by_phone, register

OUT_OF_WARRANTY = {"warranty_end": "2025-01-31"}
QUOTE_ACCEPTED = {"solution": "更换主板", "quoted_fee": 3000, "customer_accepts": "yes"}


def test_out_of_warranty_the_technician_sets_out_within_24_hours_of_the_fee_confirmation(
    scenario_engine: Engine,
) -> None:
    """Registered Monday 09:00, fee confirmed Tuesday 15:00: set out by Wednesday 15:00."""
    engine = scenario_engine  # Monday 2026-11-23 09:00
    case = register(engine, **OUT_OF_WARRANTY)
    not_solved_by_phone(engine, case)
    clock.freeze(shanghai(2026, 11, 24, 15, 0))
    complete_step(engine, case, "task_quote", QUOTE_ACCEPTED, CS)
    confirmed_due = shanghai(2026, 11, 25, 15, 0)
    assert open_task(engine, case, "task_dispatch").due_at == confirmed_due

    clock.freeze(confirmed_due - timedelta(minutes=1))
    fire_timers(engine)
    assert sla_breaches(engine, case) == []  # 2 working days from acceptance (Wed 09:00) do not apply
    clock.freeze(confirmed_due + timedelta(minutes=1))
    fire_timers(engine)
    assert [(b.sla, b.element_id) for b in sla_breaches(engine, case)] == [
        ("dispatch", "timer_dispatch_late")
    ]
    assert open_task(engine, case, "task_dispatch_escalation").role == "service_supervisor"
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)


def test_in_warranty_the_dispatch_limit_still_counts_from_acceptance(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    clock.freeze(shanghai(2026, 11, 24, 15, 0))
    not_solved_by_phone(engine, case)
    assert open_task(engine, case, "task_dispatch").due_at == shanghai(2026, 11, 25, 9, 0)
