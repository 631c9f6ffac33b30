"""Repair rules found only in the seeds, driven through the real repair diagram.

- Out of warranty, the technician sets out within 24 hours of the customer's confirmation of
  the fee [004 5.2.1.5], not within the in-warranty dispatch limit counted from acceptance.
- A unit that cannot be repaired is replaced or refunded as the customer chooses (包换 / 包退)
  [003 三.4; 000 篇三 2.2.2–2.2.3]: the repair starts a sales-return case linked to it; at a
  device or machinery company that case takes the unit back and replaces or refunds it, without
  the pharmaceutical return's steps.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid
from engine.runtime import Engine
from engine.store.models import Task
from processes.demo.signatures import signed_by
from tests.scenarios.conftest import (
    add_product,
    as_user,
    case_data,
    children,
    complete_step,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    shanghai,
    sla_breaches,
)
from tests.scenarios.test_complaint_rules import industry_profile
from tests.scenarios.test_repair import CS, SUP, TECH2, dispatch_and_arrive, not_solved_by_phone, register

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


UNREPAIRABLE = {
    "outcome": "unrepairable",
    "work_done": "检查主板",
    "hours_spent": 3,
    "customer_signed": True,
    "customer_signature": signed_by("王工"),
    "unrepairable_reason": "主板烧毁，厂家已停产该型号配件",
    "customer_remedy": "replace",
}


def test_a_unit_that_cannot_be_repaired_starts_a_linked_replacement_or_refund(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001", sale_date=date(2026, 3, 2), warranty_end=date(2027, 3, 2))
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case)
    task = open_task(engine, case, "task_repair")
    missing = {k: v for k, v in UNREPAIRABLE.items() if k not in ("unrepairable_reason", "customer_remedy")}
    with pytest.raises(FormInvalid) as refused:
        engine.complete(task.id, missing, TECH2)
    assert set(refused.value.errors) == {"unrepairable_reason", "customer_remedy"}
    assert children(engine, case) == []

    complete_step(engine, case, "task_repair", UNREPAIRABLE, TECH2)
    (linked,) = children(engine, case)
    assert (linked.process_key, linked.status) == ("sales_return", "running")
    assert open_task(engine, linked.id, "task_return_notice").role == "billing_clerk"
    data = case_data(engine, linked.id)
    repair_number = instance_row(engine, case).business_number
    assert (data["requested_remedy"], data["repair_order"], data["batch_number"]) == (
        "replace",
        repair_number,
        "SN-0001",
    )
    assert (data["reason"], data["purchase_date"], data["quantity"]) == ("quality_defect", "2026-03-02", 1)
    # The repair goes on to the supervisor's acceptance of what was done.
    assert "task_acceptance" in open_steps(engine, case)


DEVICE_REMEDIES = [
    (
        "replace",
        "task_replace",
        "sales1",
        {
            "replacement_batch": "SN-0002",
            "replacement_quantity": "1",
            "replacement_delivery_number": "FH-0009",
        },
        "replaced",
    ),
    (
        "refund",
        "task_refund",
        "fin1",
        {"refund_amount": "36000.00", "refund_method": "bank_transfer", "refund_voucher_number": "TK-0009"},
        "refunded",
    ),
]
#: The steps of a pharmaceutical return (ledger of medicines, approvals, cold chain, batch inspection).
PHARMACEUTICAL_RETURN_STEPS = {
    "task_return_notice",
    "task_approve_business",
    "task_approve_quality",
    "task_pickup",
    "task_receive",
    "task_inspect",
    "task_restock",
    "task_nonconforming",
}


@pytest.mark.parametrize(("remedy", "last_step", "who", "form", "outcome"), DEVICE_REMEDIES)
def test_a_device_companys_unrepairable_unit_is_taken_back_and_replaced_or_refunded(
    scenario_engine: Engine, remedy: str, last_step: str, who: str, form: dict[str, str], outcome: str
) -> None:
    """A device company's unrepairable unit: 包换 / 包退 [003 三.4; 000 篇三 2.2.2–2.2.3], not a drug return.

    The unit is taken back at the company's cost [003 二.5、三.5; 000 篇三 4] and replaced or
    refunded within 5 working days of taking it back [003 二.4]; no sales-ledger check of
    medicines, no cold chain, no batch-by-batch inspection.
    """
    engine = scenario_engine  # Monday 2026-11-23 09:00
    engine.deploy(industry_profile("medical_devices"), deployed_by="owner1")
    add_product(engine, "SN-0001", sale_date=date(2026, 3, 2), warranty_end=date(2027, 3, 2))
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case)
    complete_step(engine, case, "task_repair", {**UNREPAIRABLE, "customer_remedy": remedy}, TECH2)

    (linked,) = children(engine, case)
    assert open_steps(engine, linked.id) == {"task_unit_takeback"}
    takeback = open_task(engine, linked.id, "task_unit_takeback")
    assert takeback.role == "sales"
    assert takeback.due_at == shanghai(2026, 11, 25, 9, 0)  # company default: 2 working days

    clock.freeze(shanghai(2026, 11, 24, 10, 0))
    complete_step(
        engine,
        linked.id,
        "task_unit_takeback",
        {
            "unit_serial_matches": "yes",
            "unit_accessories_complete": "yes",
            "unit_taken_back_on": "2026-11-24",
            "unit_freight_cost": "120",
        },
        as_user("sales1"),
    )
    assert open_steps(engine, linked.id) == {last_step}
    assert open_task(engine, linked.id, last_step).due_at == shanghai(2026, 12, 1, 10, 0)  # 5 working days

    complete_step(engine, linked.id, last_step, form, as_user(who))
    assert instance_row(engine, linked.id).status == "completed"
    data = case_data(engine, linked.id)
    assert (data["industry"], data["return_outcome"]) == ("medical_devices", outcome)
    with engine.sessions() as session:
        walked = set(session.scalars(select(Task.spec_id).where(Task.instance_id == linked.id)))
    assert walked == {"task_unit_takeback", last_step}
    assert not walked & PHARMACEUTICAL_RETURN_STEPS


def test_a_pharmaceutical_companys_unrepairable_unit_keeps_the_return_steps(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001", sale_date=date(2026, 3, 2), warranty_end=date(2027, 3, 2))
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case)
    complete_step(engine, case, "task_repair", UNREPAIRABLE, TECH2)
    (linked,) = children(engine, case)
    assert open_steps(engine, linked.id) == {"task_return_notice"}
