"""Complaint rules found only in the seeds, driven through the real complaint diagram.

- A problem is solved within a limit by its kind, counted from receipt and beside the 5 / 7-day
  closure limit: general 15 working days, complex one month [004 11 3.12], serious 24 hours
  [004 11 3.5]. Quality decides the kind when it registers the complaint.
- Every complaining customer is visited by the head of the technical department or someone
  sent by them [001 客户意见 7; 000 篇二 10], before the reply.
- A pharmaceutical company passes adverse-reaction information to quality, who report it
  [002 4.2.3]; the industry is a setting (the company_profile table), so device and machinery
  companies have no such step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid, PermissionDenied
from engine.runtime import Engine
from engine.store.models import Job
from tests.conftest import diagram_files
from tests.scenarios.conftest import (
    as_user,
    case_data,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    shanghai,
    sla_breaches,
    visible_task_ids,
)
from tests.scenarios.test_complaint import (
    FIN,
    FRIDAY_AFTERNOON,
    GM,
    QA,
    SALES,
    TECHDEPT,
    analyse,
    countermeasure,
    countermeasure_loss_and_approval,
    first_response,
    investigate,
    receive,
    reply,
    timer_due,
    work,
)


@pytest.fixture
def scenario_time() -> datetime:
    return FRIDAY_AFTERNOON  # Friday 2026-11-20 15:30


def register_as(engine: Engine, case: int, complexity: str | None) -> None:
    data = {"severity": "general", "screening_opinion": "返修后复发", "joint_investigation": False}
    if complexity is not None:
        data["problem_complexity"] = complexity
    work(engine, case, "task_register", QA, data)


def open_jobs(engine: Engine, case: int, element_id: str) -> list[Job]:
    with engine.sessions() as session:
        return list(
            session.scalars(
                select(Job).where(
                    Job.instance_id == case, Job.element_id == element_id, Job.done_at.is_(None)
                )
            )
        )


@pytest.mark.parametrize(
    ("complexity", "due"),
    [
        # 15 working days from Friday 15:30: the weekends do not count [004 11 3.12].
        ("general", shanghai(2026, 12, 11, 15, 30)),
        (None, shanghai(2026, 12, 11, 15, 30)),  # not chosen: a general problem
        ("complex", shanghai(2026, 12, 20, 15, 30)),  # one calendar month [004 11 3.12]
        ("serious", shanghai(2026, 11, 21, 15, 30)),  # 24 hours, through the weekend [004 11 3.5]
    ],
)
def test_the_problem_is_due_by_its_kind_from_receipt_beside_the_closure_limit(
    scenario_engine: Engine, complexity: str | None, due: datetime
) -> None:
    engine = scenario_engine
    case = receive(engine)
    first_response(engine, case)
    clock.advance(timedelta(hours=2))  # registered later: the limit still counts from receipt
    register_as(engine, case, complexity)
    assert timer_due(engine, case, "timer_resolution_limit") == due
    assert timer_due(engine, case, "timer_closure_limit") == FRIDAY_AFTERNOON + timedelta(days=5)


def test_a_serious_problem_not_solved_in_24_hours_is_a_breach_that_quality_follows_up(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    case = receive(engine)
    first_response(engine, case)
    register_as(engine, case, "serious")
    clock.freeze(shanghai(2026, 11, 21, 15, 29))
    fire_timers(engine)
    assert sla_breaches(engine, case) == []
    clock.freeze(shanghai(2026, 11, 21, 15, 31))
    fire_timers(engine)
    assert [(b.sla, b.element_id) for b in sla_breaches(engine, case)] == [
        ("resolution", "timer_resolution_limit")
    ]
    assert open_task(engine, case, "task_resolution_overdue").role == "quality"
    assert open_task(engine, case, "task_investigation")  # the handling goes on
    assert instance_row(engine, case).late is True


def test_a_complaint_closed_in_time_ends_both_watches_without_a_breach(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = receive(engine)
    first_response(engine, case)
    register_as(engine, case, "general")
    investigate(engine, case)
    analyse(engine, case, cause_type="human_slip")
    countermeasure_loss_and_approval(engine, case)
    reply(engine, case)
    work(engine, case, "task_customer_decision", SALES, {"customer_accepts": "yes"})
    row = instance_row(engine, case)
    assert (row.status, row.late) == ("completed", False), row.error_message
    assert open_jobs(engine, case, "timer_resolution_limit") == []
    assert open_jobs(engine, case, "timer_closure_limit") == []
    assert sla_breaches(engine, case) == []


def test_every_complaining_customer_is_visited_by_the_technical_head_or_a_delegate_before_the_reply(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    case = receive(engine)
    first_response(engine, case)
    register_as(engine, case, None)
    investigate(engine, case)
    analyse(engine, case)
    countermeasure(engine, case)
    work(engine, case, "task_loss", FIN, {"loss_amount": "0"})
    work(
        engine, case, "task_gm_approval", GM, {"approval_decision": "approve", "approved_disposition": "更换"}
    )

    task = open_task(engine, case, "task_customer_visit")
    assert open_steps(engine, case) == {"task_customer_visit"}  # the reply waits for the visit
    assert task.role == "technical"
    assert task.id in visible_task_ids(engine, TECHDEPT) and task.id not in visible_task_ids(engine, SALES)
    with pytest.raises(FormInvalid) as refused:
        engine.complete(task.id, {"visitor_capacity": "delegate", "visit_date": "2026-11-20"}, TECHDEPT)
    assert set(refused.value.errors) == {"visitor", "visit_result"}
    assert open_steps(engine, case) == {"task_customer_visit"}  # nothing changed

    visit = {
        "visitor": "李工（技术部主管派员）",
        "visitor_capacity": "delegate",
        "visit_date": "2026-11-23",
        "visit_result": "上门说明更换方案，客户同意",
    }
    work(engine, case, "task_customer_visit", TECHDEPT, visit)
    assert open_steps(engine, case) == {"task_reply"}
    data = case_data(engine, case)
    assert {key: data[key] for key in visit} == visit


def industry_profile(industry: str) -> dict[str, str]:
    files = diagram_files()
    files["company_profile.dmn"] = files["company_profile.dmn"].replace(
        "<text>'pharmaceutical'</text>", f"<text>'{industry}'</text>"
    )
    return files


@pytest.mark.parametrize(("industry", "reported"), [("pharmaceutical", True), ("medical_devices", False)])
def test_a_pharmaceutical_companys_adverse_reaction_is_passed_to_quality_and_reported(
    scenario_engine: Engine, industry: str, reported: bool
) -> None:
    """[002 4.2.3]: only where the company's industry (a setting) is pharmaceutical."""
    engine = scenario_engine
    engine.deploy(industry_profile(industry), deployed_by="owner1")
    case = receive(engine)
    first_response(engine, case)
    data = {"severity": "general", "screening_opinion": "服药后皮疹", "adverse_reaction": True}
    work(engine, case, "task_register", QA, data)
    if not reported:
        assert open_steps(engine, case) == {"task_investigation"}
        return
    assert open_steps(engine, case) == {"task_investigation", "task_adr_report"}
    assert open_task(engine, case, "task_adr_report").role == "quality"
    report = {
        "reaction_description": "服药后 2 小时出现皮疹",
        "adr_reported_to": "省药品不良反应监测中心",
        "adr_report_date": "2026-11-20",
        "adr_report_number": "ADR-2026-031",
    }
    work(engine, case, "task_adr_report", QA, report)
    assert open_steps(engine, case) == {"task_investigation"}  # the complaint goes on


def test_a_complaint_without_an_adverse_reaction_has_no_report(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = receive(engine)
    first_response(engine, case)
    register_as(engine, case, "general")
    assert open_steps(engine, case) == {"task_investigation"}


OBJECTION = {
    "objection_subject": "complaint_decision",
    "objecting_department": "technical",
    "decision_objected": "责任判定为技术部，承担全部损失",
    "objection_reasons": "故障系客户违规操作所致，会勘记录可证",
    "proposal": "责任改判为客户，技术部仅承担上门费用",
}


def test_a_department_objecting_to_a_complaint_decision_submits_a_memo_the_general_manager_rules_on(
    scenario_engine: Engine,
) -> None:
    """[001 客户反应调查及处理 8]: 各部门对客户投诉处理决议有异议时得以“签呈”专案呈报处理."""
    engine = scenario_engine
    complaint = instance_row(engine, receive(engine)).business_number
    with pytest.raises(FormInvalid) as unknown:  # only an existing complaint may be named
        engine.start("complaint_objection", {**OBJECTION, "complaint_number": "CP-20260101-9999"}, TECHDEPT)
    assert set(unknown.value.errors) == {"complaint_number"}
    with pytest.raises(PermissionDenied):  # a technician is not a department that decides complaints
        engine.start("complaint_objection", {**OBJECTION, "complaint_number": complaint}, as_user("tech1"))

    memo = engine.start("complaint_objection", {**OBJECTION, "complaint_number": complaint}, TECHDEPT).id
    ruling = open_task(engine, memo, "task_objection_ruling")
    assert ruling.role == "general_manager" and ruling.name == f"签呈批示 {complaint}"
    revised = {"ruling": "revised", "ruling_text": "责任改判为客户，损失由客户承担"}
    work(engine, memo, "task_objection_ruling", GM, revised)
    assert open_task(engine, memo, "task_apply_ruling").role == "sales"
    work(
        engine,
        memo,
        "task_apply_ruling",
        SALES,
        {"ruling_applied": "已致函客户说明", "customer_told_by": "letter"},
    )
    assert instance_row(engine, memo).status == "completed"
    assert case_data(engine, memo)["ruling_text"] == "责任改判为客户，损失由客户承担"


def test_an_upheld_decision_ends_the_memo_and_a_disputed_receivable_goes_the_same_way(
    scenario_engine: Engine,
) -> None:
    """[001 10]: after an unfounded complaint, the customer's objection to the receivable is a memo too."""
    engine = scenario_engine
    complaint = instance_row(engine, receive(engine)).business_number
    disputed = {**OBJECTION, "objection_subject": "receivable", "objecting_department": "sales"}
    memo = engine.start("complaint_objection", {**disputed, "complaint_number": complaint}, SALES).id
    work(engine, memo, "task_objection_ruling", GM, {"ruling": "upheld", "ruling_text": "按规定收款期收回"})
    assert instance_row(engine, memo).status == "completed"
    assert open_steps(engine, memo) == set()
