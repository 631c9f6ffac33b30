"""Repair service (报修 → 派工 → 维修 → 验收 → 回访 → 归档) end to end, as the people who do it.

Every path of SPEC §4 runs through the engine commands against the database with the clock
frozen (Monday 2026-11-23 09:00 Shanghai unless said otherwise): each step is completed by a
demo user holding the step's role, from that user's inbox. SLA timers are fired by the timer
runner and must leave an ``SlaBreach`` with the stage name and a late case. The recurring work
(regular follow-ups, contract renewal notices) runs from test-only copies of the scheduled
diagrams whose timer start is replaced by a plain start (see ``start_copy``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import TaskNotAvailable
from engine.runtime import Engine
from engine.store.models import Event
from processes.demo.signatures import signed_by
from processes.records.models import MaintenanceContract, ServiceRecord
from tests.conftest import DIAGRAMS
from tests.scenarios.conftest import (
    REPAIR_REQUEST as REQUEST,
)
from tests.scenarios.conftest import (
    add_product,
    as_user,
    case_data,
    cases_of,
    children,
    complete_step,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    open_tasks,
    shanghai,
    sla_breaches,
    timers_fired,
    visible_task_ids,
)

CS, SUP, TECH1, TECH2, ACCT, GM = (as_user(u) for u in ("cs1", "sup1", "tech1", "tech2", "acct1", "gm1"))
MONDAY_9 = shanghai(2026, 11, 23, 9, 0)

SATISFIED = {
    "rating_attitude": "very_satisfied",
    "rating_technique": "satisfied",
    "rating_arrival_time": "satisfied",
    "rating_promises": "very_satisfied",
}
ON_SITE = {
    "outcome": "fixed_on_site",
    "work_done": "更换电源板",
    "hours_spent": 2,
    "customer_signature": signed_by("王工"),
}


def register(engine: Engine, **overrides: Any) -> int:
    return engine.start("repair_service", {**REQUEST, **overrides}, CS).id


def not_solved_by_phone(engine: Engine, case: int) -> None:
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)


def dispatch_and_arrive(
    engine: Engine, case: int, technician: str = "tech2", fault_level: str = "minor"
) -> None:
    complete_step(engine, case, "task_dispatch", {"technician": technician}, SUP)
    arrived = {"arrived_at": clock.now().isoformat(), "fault_level": fault_level}
    complete_step(engine, case, "task_arrival", arrived, as_user(technician))


def breaches(engine: Engine, case: int) -> list[tuple[str, str, str | None]]:
    return [(b.sla, b.element_id, b.task_element_id) for b in sla_breaches(engine, case)]


def service_history(engine: Engine) -> list[str]:
    with engine.sessions() as session:
        return [r.summary or "" for r in session.scalars(select(ServiceRecord).order_by(ServiceRecord.id))]


def completed_steps(engine: Engine, case: int) -> list[tuple[str, str | None]]:
    """The completed steps in the order the audit log recorded them (the clock is frozen)."""
    with engine.sessions() as session:
        rows = session.execute(
            select(Event.element_id, Event.actor)
            .where(Event.instance_id == case, Event.action == "task_completed")
            .order_by(Event.id)
        )
        return [(element_id, actor) for element_id, actor in rows]


# --- service category ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_data", "archive", "category"),
    [
        pytest.param({"contract_in_force": True}, None, "A", id="contract-on-the-form"),
        pytest.param({}, None, "B", id="in-warranty"),
        pytest.param({"warranty_end": "2026-11-23"}, None, "B", id="warranty-ends-today"),
        pytest.param({"cause": "misuse"}, None, "C", id="misuse-in-warranty"),
        pytest.param(
            {"cause": "force_majeure", "contract_in_force": True}, None, "A", id="contract-covers-all"
        ),
        pytest.param({"warranty_end": "2026-11-22"}, None, "C", id="warranty-expired"),
        pytest.param({"warranty_end": None}, None, "C", id="no-warranty-known"),
        pytest.param(
            {"warranty_end": None},
            {"warranty_end": date(2027, 1, 31)},
            "B",
            id="archive-supplies-the-warranty",
        ),
        pytest.param(
            {"warranty_end": "2027-06-30"},
            {"warranty_end": date(2026, 1, 31)},
            "C",
            id="archive-warranty-wins-over-the-form",
        ),
        pytest.param(
            {},
            {
                "warranty_end": date(2026, 1, 31),
                "contract": ("MC-2026-007", date(2026, 1, 1), date(2026, 12, 31)),
            },
            "A",
            id="archive-contract-in-force",
        ),
    ],
)
def test_service_category_from_contract_warranty_and_cause(
    scenario_engine: Engine, request_data: dict[str, Any], archive: dict[str, Any] | None, category: str
) -> None:
    if archive is not None:
        add_product(scenario_engine, "SN-0001", **archive)
    case = register(scenario_engine, **request_data)
    data = case_data(scenario_engine, case)
    assert data["service_category"] == category
    assert data["product_in_archive"] is (archive is not None)
    if archive and "contract" in archive:
        assert data["contract_number"] == "MC-2026-007"
    assert open_steps(scenario_engine, case) == {"task_remote_guidance"}


# --- the paths -------------------------------------------------------------------------------


def test_a_fault_solved_by_phone_goes_to_follow_up_without_dispatch(scenario_engine: Engine) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001", warranty_end=date(2027, 6, 30))
    case = register(engine)
    task = open_task(engine, case, "task_remote_guidance")
    assert task.role == "customer_service" and task.assignee is None
    assert task.id not in visible_task_ids(engine, SUP)

    complete_step(
        engine, case, "task_remote_guidance", {"solved_by_phone": "yes", "guidance_notes": "指导复位"}, CS
    )
    assert open_steps(engine, case) == {"task_follow_up"}
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)

    row = instance_row(engine, case)
    assert row.status == "completed" and not row.late
    assert completed_steps(engine, case) == [("task_remote_guidance", "cs1"), ("task_follow_up", "cs1")]
    assert children(engine, case) == []
    (summary,) = service_history(engine)
    assert summary.startswith(f"维修单 {row.business_number}；服务类别 B；电话指导解决：指导复位")


def test_the_dispatched_technician_alone_repairs_and_a_failed_acceptance_sends_it_back(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    add_product(engine, "SN-0001", warranty_end=date(2027, 6, 30))
    case = register(engine)
    not_solved_by_phone(engine, case)
    assert open_steps(engine, case) == {"task_dispatch"}
    complete_step(engine, case, "task_dispatch", {"technician": "tech2", "dispatch_notes": "带电源板"}, SUP)

    arrival = open_task(engine, case, "task_arrival")
    assert (arrival.role, arrival.assignee) == ("technician", "tech2")
    assert arrival.id in visible_task_ids(engine, TECH2)
    assert arrival.id not in visible_task_ids(engine, TECH1)
    with pytest.raises(TaskNotAvailable):
        engine.complete(arrival.id, {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH1)
    with pytest.raises(TaskNotAvailable):
        engine.claim(arrival.id, TECH1)
    complete_step(
        engine, case, "task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH2
    )

    repair = open_task(engine, case, "task_repair")
    assert repair.assignee == "tech2" and repair.id not in visible_task_ids(engine, TECH1)
    with pytest.raises(TaskNotAvailable):
        engine.complete(repair.id, ON_SITE, TECH1)
    take_back = {
        "outcome": "take_back",
        "work_done": "现场无法修复，带回",
        "hours_spent": 1.5,
        "parts_borrowed": True,
        "loan_slip_number": "JY-0001",
        "customer_signature": signed_by("王工"),
        "receipt_number": "SJ-0001",
        "repair_card_number": "XK-0001",
    }
    complete_step(engine, case, "task_repair", take_back, TECH2)
    workshop = open_task(engine, case, "task_workshop_repair")
    assert workshop.assignee == "tech2" and workshop.id not in visible_task_ids(engine, TECH1)
    complete_step(
        engine, case, "task_workshop_repair", {"workshop_work_done": "更换主板", "workshop_hours": 3}, TECH2
    )
    # Borrowed spare parts come back (three days) before the supervisor accepts the work [004 11.5].
    assert open_steps(engine, case) == {"task_parts_return"}
    parts = open_task(engine, case, "task_parts_return")
    assert parts.assignee == "tech2"
    assert parts.due_at == MONDAY_9 + timedelta(days=3)
    complete_step(engine, case, "task_parts_return", {"returned_items": "未用电源板 ×1，损坏主板 ×1"}, TECH2)

    complete_step(engine, case, "task_acceptance", {"accepted": "no", "acceptance_notes": "客户未签字"}, SUP)
    assert open_steps(engine, case) == {"task_repair"}
    assert open_task(engine, case, "task_repair").assignee == "tech2"
    complete_step(engine, case, "task_repair", {**ON_SITE, "work_done": "补签服务凭证"}, TECH2)
    assert open_steps(engine, case) == {"task_acceptance"}  # nothing borrowed this time
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    assert open_steps(engine, case) == {"task_follow_up"}  # free warranty service: no invoice
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)

    row = instance_row(engine, case)
    assert row.status == "completed" and not row.late and breaches(engine, case) == []
    assert completed_steps(engine, case) == [
        ("task_remote_guidance", "cs1"),
        ("task_dispatch", "sup1"),
        ("task_arrival", "tech2"),
        ("task_repair", "tech2"),
        ("task_workshop_repair", "tech2"),
        ("task_parts_return", "tech2"),
        ("task_acceptance", "sup1"),
        ("task_repair", "tech2"),
        ("task_acceptance", "sup1"),
        ("task_follow_up", "cs1"),
    ]
    (summary,) = service_history(engine)
    assert "技术员 tech2" in summary and "补签服务凭证" in summary


def test_paid_service_is_quoted_then_invoiced_by_the_accountant_after_acceptance(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    case = register(engine, cause="misuse")
    not_solved_by_phone(engine, case)
    assert open_steps(engine, case) == {"task_quote"}
    complete_step(
        engine,
        case,
        "task_quote",
        {"solution": "更换电源板", "quoted_fee": 800, "customer_accepts": "yes"},
        CS,
    )
    dispatch_and_arrive(engine, case, "tech1")
    complete_step(engine, case, "task_repair", ON_SITE, TECH1)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)

    invoice = open_task(engine, case, "task_invoice")
    assert invoice.role == "accountant"
    assert invoice.id not in visible_task_ids(engine, SUP)
    complete_step(
        engine,
        case,
        "task_invoice",
        {"amount": 800, "invoice_number": "No.00012345", "collected": True},
        ACCT,
    )
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)
    assert instance_row(engine, case).status == "completed"
    assert [who for _step, who in completed_steps(engine, case)] == [
        "cs1",
        "cs1",
        "sup1",
        "tech1",
        "tech1",
        "sup1",
        "acct1",
        "cs1",
    ]


def test_a_refused_quote_closes_as_declined_unless_the_general_manager_approves(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    declined = register(engine, warranty_end="2025-01-31")
    approved = register(engine, warranty_end="2025-01-31")
    for case in (declined, approved):
        not_solved_by_phone(engine, case)
        complete_step(
            engine,
            case,
            "task_quote",
            {"solution": "更换主板", "quoted_fee": 3000, "customer_accepts": "no"},
            CS,
        )
        gm_task = open_task(engine, case, "task_gm_approval")
        assert gm_task.role == "general_manager" and gm_task.id not in visible_task_ids(engine, SUP)

    complete_step(engine, declined, "task_gm_approval", {"approved": "no", "comment": "不符合免费条件"}, GM)
    row = instance_row(engine, declined)
    assert row.status == "completed" and open_steps(engine, declined) == set()
    assert [step for step, _who in completed_steps(engine, declined)] == [
        "task_remote_guidance",
        "task_quote",
        "task_gm_approval",
    ]

    complete_step(engine, approved, "task_gm_approval", {"approved": "yes", "comment": "重点客户特批"}, GM)
    dispatch_and_arrive(engine, approved)
    complete_step(engine, approved, "task_repair", ON_SITE, TECH2)
    complete_step(engine, approved, "task_acceptance", {"accepted": "yes"}, SUP)
    # The customer did not accept the fee: the approved service is not invoiced [004 7.2.4].
    assert open_steps(engine, approved) == {"task_follow_up"}


# --- SLA timers ------------------------------------------------------------------------------


def test_a_late_response_escalates_to_the_supervisor_and_is_recorded(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine, urgency="emergency")
    guidance = open_task(engine, case, "task_remote_guidance")
    assert guidance.due_at == shanghai(2026, 11, 23, 11, 0)  # 2 working hours for an emergency

    clock.advance(timedelta(hours=1, minutes=59))
    fire_timers(engine)
    assert timers_fired(engine, case) == [] and breaches(engine, case) == []
    clock.advance(timedelta(minutes=2))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_response_late"]

    escalation = open_task(engine, case, "task_response_escalation")
    assert escalation.role == "service_supervisor" and escalation.id in visible_task_ids(engine, SUP)
    assert open_steps(engine, case) == {"task_remote_guidance", "task_response_escalation"}
    assert breaches(engine, case) == [("response", "timer_response_late", "task_remote_guidance")]
    (breach,) = sla_breaches(engine, case)
    assert breach.due_at == guidance.due_at
    assert instance_row(engine, case).late is True
    complete_step(engine, case, "task_response_escalation", {"action_taken": "电话致歉，立即回电"}, SUP)
    assert open_steps(engine, case) == {"task_remote_guidance"}


def test_a_late_dispatch_escalates_without_cancelling_the_dispatch(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine, distance_band="remote")
    not_solved_by_phone(engine, case)
    dispatch = open_task(engine, case, "task_dispatch")
    assert dispatch.due_at == shanghai(2026, 11, 25, 9, 0)  # 2 working days [001 第九条]
    clock.freeze(shanghai(2026, 11, 25, 9, 1))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_dispatch_late"]
    assert open_steps(engine, case) == {"task_dispatch", "task_dispatch_escalation"}
    assert breaches(engine, case) == [("dispatch", "timer_dispatch_late", "task_dispatch")]
    assert instance_row(engine, case).late is True
    complete_step(engine, case, "task_dispatch", {"technician": "tech1"}, SUP)
    assert open_steps(engine, case) == {"task_dispatch_escalation", "task_arrival"}


def test_arrival_is_due_from_the_call_by_distance_and_a_late_arrival_escalates(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    case = register(engine, distance_band="within_300km")
    not_solved_by_phone(engine, case)
    clock.advance(timedelta(hours=2))
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    arrival = open_task(engine, case, "task_arrival")
    # 24 hours from the call, not from the dispatch [004 5.1.1.3, 000 篇二 17)].
    assert arrival.due_at == MONDAY_9 + timedelta(hours=24)

    clock.freeze(MONDAY_9 + timedelta(hours=23, minutes=59))
    fire_timers(engine)
    assert timers_fired(engine, case) == []
    clock.freeze(MONDAY_9 + timedelta(hours=24, minutes=1))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_arrival_late"]
    assert open_task(engine, case, "task_arrival_escalation").role == "service_supervisor"
    assert breaches(engine, case) == [("arrival", "timer_arrival_late", "task_arrival")]
    assert instance_row(engine, case).late is True


def test_not_repaired_in_12_hours_asks_the_supervisor_for_a_loaner_within_24_hours(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case, fault_level="complex")
    repair = open_task(engine, case, "task_repair")
    assert repair.due_at == shanghai(2026, 11, 30, 9, 0)  # complex fault: 5 working days [001 4.2]

    clock.advance(timedelta(hours=12, minutes=1))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_loaner"]
    loaner = open_task(engine, case, "task_loaner")
    assert loaner.role == "service_supervisor"
    assert loaner.due_at == clock.now() + timedelta(hours=24)
    # The 12-hour mark triggers the loaner; it is no breach [001 产品服务措施 4, SPEC §8].
    assert breaches(engine, case) == []
    assert instance_row(engine, case).late is False

    # The repair goes on: taken back to the workshop, the same timers still watch it.
    complete_step(engine, case, "task_repair", {**ON_SITE, "outcome": "take_back"}, TECH2)
    complete_step(engine, case, "task_loaner", {"loaner_provided": "yes", "loaner_model": "XR-200"}, SUP)
    assert open_steps(engine, case) == {"task_workshop_repair"}


def test_a_repair_late_against_the_promised_time_alerts_the_supervisor(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case, fault_level="minor")
    complete_step(engine, case, "task_repair", {**ON_SITE, "outcome": "take_back"}, TECH2)
    workshop = open_task(engine, case, "task_workshop_repair")
    assert workshop.due_at == shanghai(2026, 11, 25, 9, 0)  # minor fault: 2 working days [001 4.2]

    clock.freeze(shanghai(2026, 11, 25, 9, 1))
    fire_timers(engine)  # 12 hours without repair passed long ago, too
    assert sorted(timers_fired(engine, case)) == ["timer_loaner", "timer_repair_late"]
    assert open_steps(engine, case) == {"task_workshop_repair", "task_loaner", "task_repair_late"}
    assert sorted(breaches(engine, case)) == [("repair", "timer_repair_late", "sub_repair")]
    assert open_task(engine, case, "task_repair_late").role == "service_supervisor"


def test_acceptance_invoice_and_follow_up_limits_are_recorded(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine, cause="modification")
    not_solved_by_phone(engine, case)
    complete_step(
        engine,
        case,
        "task_quote",
        {"solution": "恢复原厂设置", "quoted_fee": 500, "customer_accepts": "yes"},
        CS,
    )
    dispatch_and_arrive(engine, case)
    complete_step(engine, case, "task_repair", ON_SITE, TECH2)

    acceptance = open_task(engine, case, "task_acceptance")
    assert acceptance.due_at == shanghai(2026, 11, 24, 9, 0)  # 1 working day
    clock.freeze(shanghai(2026, 11, 24, 9, 1))
    fire_timers(engine)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    invoice = open_task(engine, case, "task_invoice")
    assert invoice.due_at == shanghai(2026, 11, 24, 17, 30)  # the same day [000 篇二 8), 11)]
    clock.freeze(shanghai(2026, 11, 26, 9, 2))
    fire_timers(engine)
    complete_step(engine, case, "task_invoice", {"amount": 500, "invoice_number": "No.1"}, ACCT)
    follow_up = open_task(engine, case, "task_follow_up")
    assert follow_up.due_at == shanghai(2026, 12, 1, 9, 2)  # 3 working days
    clock.freeze(shanghai(2026, 12, 1, 9, 3))
    fire_timers(engine)
    assert timers_fired(engine, case) == [
        "timer_acceptance_late",
        "timer_invoice_late",
        "timer_follow_up_late",
    ]
    assert [sla for sla, _element, _task in breaches(engine, case)] == ["acceptance", "invoice", "follow_up"]
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)
    row = instance_row(engine, case)
    assert row.status == "completed" and row.late is True


def test_an_arrival_already_late_when_dispatched_is_recorded(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)  # urban: arrival within 6 hours of the call
    not_solved_by_phone(engine, case)
    clock.advance(timedelta(hours=7))
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    assert open_steps(engine, case) == {"task_arrival", "task_arrival_escalation"}
    assert breaches(engine, case) == [("arrival", "timer_arrival_late", "task_arrival")]


# --- follow-up and linked complaint ---------------------------------------------------------------

CATCHER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_catcher"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="message_repair_complaint" name="repair_complaint" />
  <bpmn:process id="test_complaint_catcher" name="投诉（测试）" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_quality" name="质量管理部">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>task_register</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="start_def" messageRef="message_repair_complaint" /></bpmn:startEvent>
    <bpmn:userTask id="task_register" name="登记投诉"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task_register" />
    <bpmn:sequenceFlow id="f2" sourceRef="task_register" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def complaint_catchers(engine: Engine) -> list[str]:
    """Deployed processes a repair_complaint message starts; a test-only one when there is none."""
    with engine.sessions() as session:
        catchers = [
            d.process_key
            for d in engine.latest_definitions(session)
            if "repair_complaint" in engine.message_starts(d)
        ]
    if not catchers:
        engine.deploy({"test_complaint_catcher.bpmn": CATCHER}, deployed_by="owner1")
        catchers = ["test_complaint_catcher"]
    return catchers


def repaired_and_accepted(engine: Engine) -> int:
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case, "tech1")
    complete_step(engine, case, "task_repair", ON_SITE, TECH1)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    return case


def test_an_unsatisfied_rating_starts_a_linked_complaint_case(scenario_engine: Engine) -> None:
    engine = scenario_engine
    catchers = complaint_catchers(engine)
    case = repaired_and_accepted(engine)
    number = instance_row(engine, case).business_number
    complete_step(
        engine, case, "task_follow_up", {**SATISFIED, "rating_attitude": "unsatisfied", "suggestions": ""}, CS
    )

    assert instance_row(engine, case).status == "completed"
    linked = children(engine, case)
    assert sorted(child.process_key for child in linked) == sorted(catchers)
    payload = case_data(engine, linked[0].id)
    assert payload["repair_order"] == number
    assert payload["complaint_category"] == "technician_attitude"
    assert payload["complaint_text"] == "回访评价不满意：服务态度"
    assert (payload["customer_name"], payload["customer_phone"]) == ("华东人民医院", "021-5555-0101")
    assert (payload["product_model"], payload["serial_number"], payload["technician"]) == (
        "XR-200",
        "SN-0001",
        "tech1",
    )
    assert payload["ratings"]["attitude"] == "unsatisfied"


def test_a_complaint_with_a_chosen_category_and_text_is_passed_on(scenario_engine: Engine) -> None:
    engine = scenario_engine
    complaint_catchers(engine)
    case = repaired_and_accepted(engine)
    follow_up = {
        **SATISFIED,
        "rating_arrival_time": "unsatisfied",
        "has_complaint": True,
        "complaint_category": "price_too_high",
        "suggestions": "收费太贵",
    }
    complete_step(engine, case, "task_follow_up", follow_up, CS)
    payload = case_data(engine, children(engine, case)[0].id)
    assert (payload["complaint_category"], payload["complaint_text"]) == ("price_too_high", "收费太贵")


def test_a_satisfied_customer_starts_no_complaint(scenario_engine: Engine) -> None:
    engine = scenario_engine
    complaint_catchers(engine)
    case = repaired_and_accepted(engine)
    complete_step(engine, case, "task_follow_up", {**SATISFIED, "rating_technique": "average"}, CS)
    assert instance_row(engine, case).status == "completed"
    assert children(engine, case) == []


# --- recurring work (scheduled processes) ---------------------------------------------------------


def run_daily(engine: Engine, process_key: str) -> int:
    """Let the next day's run of a scheduled process start; return the case that ran."""
    (waiting,) = cases_of(engine, process_key, "scheduled")
    clock.advance(timedelta(days=1, minutes=1))
    fire_timers(engine)
    assert instance_row(engine, waiting.id).status in ("running", "completed")
    assert len(cases_of(engine, process_key, "scheduled")) == 1  # the next day's run waits
    return waiting.id


@pytest.mark.parametrize("process_key", ["periodic_follow_up", "contract_renewal"])
def test_the_recurring_processes_run_daily_on_their_timer_start(
    scenario_engine: Engine, process_key: str
) -> None:
    text = (DIAGRAMS / f"{process_key}.bpmn").read_text(encoding="utf-8")
    assert '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1D"</bpmn:timeDuration>' in text
    assert all(d.process_key != process_key for d in scenario_engine.startable_definitions(CS))
    (waiting,) = cases_of(scenario_engine, process_key, "scheduled")
    assert waiting.current_step == "每天"
    first = run_daily(scenario_engine, process_key)
    assert instance_row(scenario_engine, first).status == "completed"  # nothing in the archive is due
    second = run_daily(scenario_engine, process_key)
    assert second != first and instance_row(scenario_engine, second).status == "completed"


def test_regular_follow_ups_every_3_months_in_warranty_and_6_after(scenario_engine: Engine) -> None:
    engine = scenario_engine  # the first daily run is on Tuesday 2026-11-24
    in_warranty = add_product(
        engine, "SN-A", model="XR-200", sale_date=date(2026, 8, 20), warranty_end=date(2027, 8, 20)
    )
    add_product(engine, "SN-B", sale_date=date(2026, 9, 1), warranty_end=date(2027, 9, 1))  # due 2026-12-01
    # Warranty over on 2026-07-31: the next visit is 6 months after the sale (2026-12-01), not 3.
    add_product(engine, "SN-E", sale_date=date(2026, 6, 1), warranty_end=date(2026, 7, 31))
    long_out_of_warranty = add_product(
        engine, "SN-C", model="CT-9", customer_name="协和医院", sale_date=date(2024, 5, 20)
    )
    add_product(engine, "SN-D", sale_date=None)  # no sale date: never followed up

    case = run_daily(engine, "periodic_follow_up")
    visits = open_tasks(engine, case)
    assert {task.name for task in visits} == {"定期回访 华东人民医院 XR-200", "定期回访 协和医院 CT-9"}
    assert all(task.role == "customer_service" and task.form_key == "follow_up_visit" for task in visits)
    assert all(task.due_at == shanghai(2026, 12, 8, 9, 1) for task in visits)  # 10 working days
    for task in visits:
        assert task.id in visible_task_ids(engine, CS)
        engine.complete(
            task.id, {"visit_method": "on_site", "product_condition": "normal", "findings": "运行正常"}, CS
        )
    assert instance_row(engine, case).status == "completed"
    with engine.sessions() as session:
        records = session.scalars(select(ServiceRecord).order_by(ServiceRecord.id)).all()
        kinds = sorted((r.product_id, (r.summary or "").split("（")[0]) for r in records)
    assert kinds == sorted(
        [
            (in_warranty, "定期回访已安排"),
            (long_out_of_warranty, "定期回访已安排"),
            (in_warranty, "定期回访"),
            (long_out_of_warranty, "定期回访"),
        ]
    )
    # The next day nothing is due again: the visits restarted both clocks.
    again = run_daily(engine, "periodic_follow_up")
    assert instance_row(engine, again).status == "completed" and open_tasks(engine, again) == []


def test_renewal_notices_one_month_before_a_contract_ends(scenario_engine: Engine) -> None:
    engine = scenario_engine  # the first daily run is on Tuesday 2026-11-24
    add_product(engine, "SN-A", contract=("MC-1", date(2025, 12, 20), date(2026, 12, 19)))
    add_product(
        engine, "SN-B", customer_name="协和医院", contract=("MC-2", date(2026, 1, 1), date(2027, 3, 1))
    )

    case = run_daily(engine, "contract_renewal")
    (notice,) = open_tasks(engine, case)
    assert (notice.name, notice.role, notice.form_key) == (
        "续约通知 华东人民医院 MC-1",
        "customer_service",
        "renewal_notice",
    )
    with engine.sessions() as session:
        claimed = {
            c.number: c.renewal_notice_instance_id for c in session.scalars(select(MaintenanceContract))
        }
    assert claimed == {"MC-1": case, "MC-2": None}
    # The next day's run, with the notice still open, does not notify the same contract again.
    again = run_daily(engine, "contract_renewal")
    assert instance_row(engine, again).status == "completed" and open_tasks(engine, again) == []
    complete_step(
        engine, case, "task_renewal_notice", {"notice_method": "letter", "renewal_intent": "renew"}, CS
    )
    assert instance_row(engine, case).status == "completed"


def test_breaches_name_their_stage(scenario_engine: Engine) -> None:
    """Every SLA stage of the diagram is a stage of the shared policy (no typo leaves a breach unnamed)."""
    with scenario_engine.sessions() as session:
        definition = scenario_engine.latest_definition(session, "repair_service")
    stages = {props["sla"] for props in definition.meta["element_properties"].values() if props.get("sla")}
    assert stages == {
        "response",
        "dispatch",
        "arrival",
        "loaner",
        "repair",
        "acceptance",
        "invoice",
        "follow_up",
    }


def test_a_case_terminated_during_the_workshop_repair_closes_every_task(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    not_solved_by_phone(engine, case)
    dispatch_and_arrive(engine, case)
    assert "task_repair" in open_steps(engine, case)  # inside the repair subprocess
    engine.terminate(case, SUP, "customer withdrew the request")
    row = instance_row(engine, case)
    assert row.status == "terminated"
    assert open_steps(engine, case) == set()
