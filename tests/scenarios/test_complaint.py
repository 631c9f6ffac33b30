"""Complaint handling (SPEC §5, seeds 000 篇三 / 001 客户投诉) driven through the engine, role by role.

Every path runs through the engine commands against the database (the whole ``diagrams/``
folder deployed, demo users, clock frozen on Friday 2026-11-20 15:30 Shanghai): each step is
completed from the inbox of a demo user holding the step's role — sales1, cs1, qa1, techdept1,
fin1, gm1. SLA timers are fired by the timer runner and leave an ``SlaBreach``. A complaint
raised at a repair follow-up comes from a real repair case rated "unsatisfied".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid, PermissionDenied
from engine.runtime import Engine
from engine.store.models import Job, ProcessInstance, Task
from engine.user_messages import Message
from processes.demo.signatures import signed_by
from tests.conftest import COMPLAINT_RECEIVED
from tests.scenarios.conftest import (
    REPAIR_REQUEST,
    as_user,
    case_data,
    children,
    complete_step,
    events,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    shanghai,
    sla_breaches,
    stored_workflow,
    visible_task_ids,
)

SALES, CS, QA, TECHDEPT, FIN, GM = (as_user(u) for u in ("sales1", "cs1", "qa1", "techdept1", "fin1", "gm1"))
SUP, TECH1 = as_user("sup1"), as_user("tech1")

FRIDAY_AFTERNOON = shanghai(2026, 11, 20, 15, 30)
# Four working hours later (08:30-17:30, the weekend does not count): Monday 10:30.
MONDAY_FIRST_RESPONSE_DUE = shanghai(2026, 11, 23, 10, 30)


@pytest.fixture
def scenario_time() -> datetime:
    return FRIDAY_AFTERNOON


@pytest.fixture
def complaints(scenario_engine: Engine) -> Engine:
    return scenario_engine


# --- helpers ---------------------------------------------------------------------------------


def work(engine: Engine, instance_id: int, spec_id: str, who: Any, data: dict[str, Any]) -> Task:
    """Complete the one open task of ``spec_id`` from ``who``'s inbox; return it as it was offered."""
    return complete_step(engine, instance_id, spec_id, data, who)


def task_data(engine: Engine, instance_id: int, spec_name: str) -> dict[str, Any]:
    """The case data as the (last) task of ``spec_name`` saw or left it."""
    workflow = stored_workflow(engine, instance_id)
    tasks = [
        t
        for t in workflow.get_tasks(spec_name=spec_name)
        if t.has_state(TaskState.READY | TaskState.COMPLETED)
    ]
    assert tasks, f"no task {spec_name} was reached"
    return dict(max(tasks, key=lambda t: t.last_state_change).data)


def timer_due(engine: Engine, instance_id: int, element_id: str) -> datetime:
    with engine.sessions() as session:
        job = session.scalars(
            select(Job).where(Job.instance_id == instance_id, Job.element_id == element_id)
        ).one()
        return job.due_at


def complaints_started_by(engine: Engine, parent_id: int) -> list[ProcessInstance]:
    return [c for c in children(engine, parent_id) if c.process_key == "complaint"]


def receive(engine: Engine, **changes: Any) -> int:
    started = engine.start("complaint", {**COMPLAINT_RECEIVED, **changes}, SALES)
    assert started.status == "running", instance_row(engine, started.id).error_message
    return started.id


def first_response(engine: Engine, instance_id: int) -> None:
    work(
        engine,
        instance_id,
        "task_first_response",
        SALES,
        {"first_response_channel": "phone", "first_response_text": "已收到投诉，质管部今日登记处理"},
    )


def register(engine: Engine, instance_id: int, severity: str = "general", joint: bool = False) -> Task:
    return work(
        engine,
        instance_id,
        "task_register",
        QA,
        {"severity": severity, "screening_opinion": "返修后复发", "joint_investigation": joint},
    )


def investigate(engine: Engine, instance_id: int) -> Task:
    return work(
        engine,
        instance_id,
        "task_investigation",
        QA,
        {"investigation_report": "电源板虚焊，返修未更换", "complaint_substantiated": "yes"},
    )


def analyse(
    engine: Engine, instance_id: int, cause_type: str = "process", department: str = "production"
) -> None:
    work(
        engine,
        instance_id,
        "task_cause_analysis",
        QA,
        {
            "cause_analysis": "返修工艺未要求更换电源板",
            "responsible_department": department,
            "cause_type": cause_type,
            "proposed_disposition": "replace",
            "disposition_detail": "更换整机，旧机返厂分析",
        },
    )


def countermeasure(engine: Engine, instance_id: int) -> None:
    work(
        engine,
        instance_id,
        "task_countermeasure",
        TECHDEPT,
        {"technical_cause": "电源板焊点疲劳", "countermeasure": "返修规程增加电源板检查"},
    )


def countermeasure_loss_and_approval(engine: Engine, instance_id: int) -> None:
    countermeasure(engine, instance_id)
    work(engine, instance_id, "task_loss", FIN, {"loss_amount": "12800.50", "loss_breakdown": "整机及运费"})
    work(
        engine,
        instance_id,
        "task_gm_approval",
        GM,
        {"approval_decision": "approve", "approved_disposition": "更换整机一台"},
    )
    visit(engine, instance_id)


def visit(engine: Engine, instance_id: int) -> Task:
    """The head of the technical department (or someone sent) visits the customer [001 客户意见 7]."""
    return work(
        engine,
        instance_id,
        "task_customer_visit",
        TECHDEPT,
        {
            "visitor": "技术部 王主管",
            "visitor_capacity": "head",
            "visit_date": "2026-11-20",
            "visit_result": "当面说明处理方案",
        },
    )


def reply(engine: Engine, instance_id: int, channel: str = "letter") -> Task:
    return work(
        engine,
        instance_id,
        "task_reply",
        SALES,
        {
            "reply_channel": channel,
            "reply_date": "2026-11-20",
            "reply_text": "经核定为您更换整机一台。",
            "reply_within_approval": True,
        },
    )


def handle_until_reply(engine: Engine, instance_id: int) -> None:
    first_response(engine, instance_id)
    register(engine, instance_id)
    investigate(engine, instance_id)
    analyse(engine, instance_id)
    countermeasure_loss_and_approval(engine, instance_id)


def offered(engine: Engine, task: Task, who: Any) -> bool:
    return task.id in visible_task_ids(engine, who)


# --- paths ---------------------------------------------------------------------------------------


def test_general_complaint_is_handled_by_every_department_and_closed_in_time(complaints: Engine) -> None:
    started = complaints.start("complaint", COMPLAINT_RECEIVED, SALES)
    assert started.business_number == "CP-20261120-0001"
    case = started.id

    task = open_task(complaints, case, "task_first_response")
    assert (task.role, task.form_key, task.due_at) == (
        "sales",
        "complaint_first_response",
        MONDAY_FIRST_RESPONSE_DUE,
    )
    assert timer_due(complaints, case, "timer_first_response") == MONDAY_FIRST_RESPONSE_DUE
    row = instance_row(complaints, case)
    assert (row.customer_name, row.product) == ("协和医院", "PM-9000")
    first_response(complaints, case)
    # Domestic: closed within 5 days of acceptance; the closure watch waits on its timer meanwhile.
    assert timer_due(complaints, case, "timer_closure_limit") == FRIDAY_AFTERNOON + timedelta(days=5)

    task = open_task(complaints, case, "task_register")
    assert (task.role, task.name) == ("quality", "投诉登记与甄别（建议：一般）")
    clock.advance(timedelta(hours=1))
    register(complaints, case)
    assert instance_row(complaints, case).priority == "general"

    task = open_task(complaints, case, "task_investigation")  # general: no general manager step
    assert open_steps(complaints, case) == {"task_investigation"}
    assert task.due_at == FRIDAY_AFTERNOON + timedelta(hours=1, days=3)  # 3 days from the investigation
    investigate(complaints, case)
    analyse(complaints, case)
    assert open_task(complaints, case, "task_countermeasure").role == "technical"
    countermeasure(complaints, case)
    assert open_task(complaints, case, "task_loss").role == "finance"
    work(complaints, case, "task_loss", FIN, {"loss_amount": "12800.50"})
    assert open_task(complaints, case, "task_gm_approval").role == "general_manager"
    work(
        complaints,
        case,
        "task_gm_approval",
        GM,
        {"approval_decision": "approve", "approved_disposition": "更换整机一台"},
    )
    visit(complaints, case)

    task = reply(complaints, case, channel="phone")  # a general complaint may be answered by phone
    assert (task.role, task.name) == ("sales", "答复客户")
    work(complaints, case, "task_customer_decision", SALES, {"customer_accepts": "yes"})
    # Our process fault, not a one-off slip: the improvement is tracked before the case ends.
    assert open_steps(complaints, case) == {"task_improvement_tracking"}
    work(
        complaints,
        case,
        "task_improvement_tracking",
        QA,
        {"improvement_result": "规程已修订", "improvement_effective": "yes"},
    )

    row = instance_row(complaints, case)
    assert row.status == "completed", row.error_message
    closed = task_data(complaints, case, "script_close")
    assert {k: closed[k] for k in ("complaint_category", "responsible_department", "severity")} == {
        "complaint_category": "repair_quality",
        "responsible_department": "production",
        "severity": "general",
    }
    assert (closed["closed_within_limit"], closed["closure_result"]) == (True, "accepted")
    assert (closed["improvement_tracking_required"], closed["severity_overridden"]) == (True, False)
    assert closed["loss_amount"] == 12800.5
    final = case_data(complaints, case)  # what the monthly statistics read from a closed case
    assert {
        k: final[k]
        for k in ("complaint_category", "responsible_department", "severity", "closed_within_limit")
    } == {
        "complaint_category": "repair_quality",
        "responsible_department": "production",
        "severity": "general",
        "closed_within_limit": True,
    }
    assert sla_breaches(complaints, case) == []
    assert children(complaints, case) == []
    assert [e.element_id for e in events(complaints, case, "timer_cancelled")] == [
        "timer_first_response",
        "timer_investigation",
        "timer_closure_limit",
        "timer_resolution_limit",
    ]


def test_major_complaint_goes_to_the_general_manager_at_once_and_is_answered_by_letter(
    complaints: Engine,
) -> None:
    case = receive(complaints)  # the decision table suggests "general" …
    first_response(complaints, case)
    register(complaints, case, severity="major")  # … and quality management rates it major

    task = open_task(complaints, case, "task_gm_acknowledge")
    assert task.role == "general_manager"
    assert open_steps(complaints, case) == {"task_gm_acknowledge"}  # nothing moves on before it
    work(complaints, case, "task_gm_acknowledge", GM, {"gm_acknowledge_instructions": "立即处理，函告客户"})
    investigate(complaints, case)
    analyse(complaints, case, cause_type="human_slip")
    countermeasure_loss_and_approval(complaints, case)

    # A major complaint is answered in writing [000 篇二 8)]: a phone reply is refused on submit
    # with the reason, and the reply task stays where it was.
    with pytest.raises(FormInvalid) as refused:
        reply(complaints, case, channel="phone")
    assert refused.value.errors == {"reply_channel": [Message("complaint.written_reply_required")]}
    task = open_task(complaints, case, "task_reply")
    assert task.name == "答复客户（重大投诉须书面函告）"
    assert open_steps(complaints, case) == {"task_reply"}
    reply(complaints, case, channel="letter")
    work(complaints, case, "task_customer_decision", SALES, {"customer_accepts": "yes"})

    row = instance_row(complaints, case)
    assert row.status == "completed", row.error_message  # a one-off human slip is not tracked
    closed = task_data(complaints, case, "script_close")
    assert (closed["severity"], closed["suggested_severity"], closed["severity_overridden"]) == (
        "major",
        "general",
        True,
    )
    assert (closed["improvement_tracking_required"], closed["reply_channel"]) == (False, "letter")
    assert closed["gm_acknowledge_instructions"] == "立即处理，函告客户"


@pytest.mark.parametrize(
    ("changes", "suggested", "basis"),
    [
        ({}, "general", "default"),
        ({"safety_impact": True}, "major", "safety"),
        ({"repeat_complaint": True}, "major", "repeat"),
        ({"defect_quantity": "10"}, "major", "batch_defect"),
        ({"quantity": "4"}, "major", "defect_ratio"),  # 1 of 4 defective
        ({"quantity": "4", "complaint_category": "price_too_high"}, "general", "default"),
    ],
)
def test_the_severity_decision_suggests_a_level_that_quality_sees(
    complaints: Engine, changes: dict[str, Any], suggested: str, basis: str
) -> None:
    case = receive(complaints, **changes)
    first_response(complaints, case)
    task = open_task(complaints, case, "task_register")
    data = task_data(complaints, case, "task_register")
    assert (data["suggested_severity"], data["severity_basis"]) == (suggested, basis)
    assert task.name == f"投诉登记与甄别（建议：{'重大' if suggested == 'major' else '一般'}）"


def test_joint_investigation_runs_in_sales_and_quality_and_a_sent_back_disposition_is_redone(
    complaints: Engine,
) -> None:
    case = receive(complaints, joint_investigation_requested=True)
    first_response(complaints, case)
    register(complaints, case, joint=True)

    assert open_steps(complaints, case) == {"task_joint_quality", "task_joint_sales"}
    assert open_task(complaints, case, "task_joint_sales").role == "sales"
    assert open_task(complaints, case, "task_joint_quality").role == "quality"
    quality_findings = {
        "joint_quality_attendance": "quality",
        "joint_quality_attendees": "周质管",
        "joint_quality_findings": "现场复现黑屏",
    }
    work(complaints, case, "task_joint_quality", QA, quality_findings)
    assert open_steps(complaints, case) == {"task_joint_sales"}  # the report waits for both
    work(
        complaints,
        case,
        "task_joint_sales",
        SALES,
        {"joint_sales_date": "2026-11-20", "joint_sales_findings": "客户要求换机"},
    )
    investigate(complaints, case)
    analyse(complaints, case)
    countermeasure(complaints, case)
    work(complaints, case, "task_loss", FIN, {"loss_amount": "0"})
    work(
        complaints,
        case,
        "task_gm_approval",
        GM,
        {"approval_decision": "revise", "approved_disposition": "先维修，不换机"},
    )
    # Sent back: quality management analyses again, then the same departments in turn.
    assert open_steps(complaints, case) == {"task_cause_analysis"}
    analyse(complaints, case)
    countermeasure_loss_and_approval(complaints, case)
    assert open_steps(complaints, case) == {"task_reply"}
    data = task_data(complaints, case, "task_reply")
    assert (data["joint_quality_findings"], data["joint_sales_findings"]) == ("现场复现黑屏", "客户要求换机")
    assert data["approved_disposition"] == "更换整机一台"


def test_quality_may_decide_that_no_joint_investigation_is_needed(complaints: Engine) -> None:
    case = receive(complaints, joint_investigation_requested=True)
    first_response(complaints, case)
    register(complaints, case, joint=False)
    assert open_steps(complaints, case) == {"task_investigation"}


def test_a_customer_who_does_not_accept_gets_a_new_complaint_linked_to_the_original(
    complaints: Engine,
) -> None:
    original = receive(complaints)
    handle_until_reply(complaints, original)
    reply(complaints, original)
    work(
        complaints,
        original,
        "task_customer_decision",
        SALES,
        {"customer_accepts": "no", "customer_objection": "只接受退货"},
    )

    row = instance_row(complaints, original)
    assert (row.status, row.business_number) == ("completed", "CP-20261120-0001")
    closed = task_data(complaints, original, "script_close")
    assert (closed["closure_result"], closed["closed_within_limit"]) == ("not_accepted_reopened", True)
    [child] = complaints_started_by(complaints, original)
    assert child.business_number == "CP-20261120-0002"
    assert child.status == "running", child.error_message
    linked = events(complaints, original, "linked_case_started")
    assert [(e.data or {}).get("business_number") for e in linked] == ["CP-20261120-0002"]

    # Sales fills a new complaint form with the original attached [001 客户反应调查及处理 5].
    task = open_task(complaints, child.id, "task_refile")
    assert (task.role, task.name) == ("sales", "重填客户抱怨处理表（原投诉 CP-20261120-0001）")
    assert task.due_at == MONDAY_FIRST_RESPONSE_DUE
    data = task_data(complaints, child.id, "task_refile")
    assert (data["original_number"], data["business_number"]) == ("CP-20261120-0001", "CP-20261120-0002")
    assert (data["customer_name"], data["order_number"], data["customer_objection"]) == (
        "协和医院",
        "SO-2026-0312",
        "只接受退货",
    )
    # The 4 working hours run from receipt on this path too.
    clock.freeze(MONDAY_FIRST_RESPONSE_DUE + timedelta(minutes=1))
    fire_timers(complaints)
    assert [(b.sla, b.element_id, b.task_element_id) for b in sla_breaches(complaints, child.id)] == [
        ("first_response", "timer_first_response_reopened", "task_refile")
    ]
    assert open_steps(complaints, child.id) == {"task_refile", "task_first_response_overdue"}
    refile = {
        "customer_request": "退货退款",
        "first_response_channel": "phone",
        "first_response_text": "已重新立案",
    }
    work(complaints, child.id, "task_refile", SALES, refile)
    assert not {"task_first_response"} & open_steps(complaints, child.id)  # answered when refiled
    # It goes round again; a reopened complaint is a repeat complaint, so "major" is suggested.
    assert open_task(complaints, child.id, "task_register").name == "投诉登记与甄别（建议：重大）"


def test_an_unsatisfied_repair_follow_up_starts_a_complaint_completed_by_customer_service(
    complaints: Engine,
) -> None:
    repair = complaints.start(
        "repair_service",
        REPAIR_REQUEST,
        CS,
    )
    complete_step(complaints, repair.id, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete_step(complaints, repair.id, "task_dispatch", {"technician": "tech1"}, SUP)
    complete_step(
        complaints,
        repair.id,
        "task_arrival",
        {"arrived_at": clock.now().isoformat(), "fault_level": "minor"},
        TECH1,
    )
    on_site = {
        "outcome": "fixed_on_site",
        "work_done": "更换电源板",
        "hours_spent": 2,
        "customer_signature": signed_by("王工"),
    }
    complete_step(complaints, repair.id, "task_repair", on_site, TECH1)
    complete_step(complaints, repair.id, "task_acceptance", {"accepted": "yes"}, SUP)
    ratings = {
        "rating_technique": "satisfied",
        "rating_arrival_time": "satisfied",
        "rating_promises": "satisfied",
    }
    complete_step(complaints, repair.id, "task_follow_up", {**ratings, "rating_attitude": "unsatisfied"}, CS)

    [child] = complaints_started_by(complaints, repair.id)
    assert child.business_number == "CP-20261120-0001"
    assert child.status == "running", child.error_message
    assert child.customer_name == "华东人民医院"
    task = open_task(complaints, child.id, "task_intake_repair")
    assert (task.role, task.form_key, task.due_at) == (
        "customer_service",
        "complaint_intake",
        MONDAY_FIRST_RESPONSE_DUE,
    )
    data = task_data(complaints, child.id, "task_intake_repair")
    assert (data["repair_order"], data["receive_channel"]) == (repair.business_number, "repair_follow_up")
    assert data["complaint_category"] == "technician_attitude"
    intake = {
        "order_number": "SO-2026-0007",
        "quantity": "1",
        "delivery_date": "2026-03-01",
        "defect_quantity": "0",
        "complaint_category": "technician_attitude",
        "customer_request": "更换技术员并道歉",
        "market": "domestic",
        "first_response_channel": "phone",
        "first_response_text": "已转质管部处理",
    }
    work(complaints, child.id, "task_intake_repair", CS, intake)
    assert open_steps(complaints, child.id) == {"task_register"}
    register(complaints, child.id)
    investigate(complaints, child.id)
    assert open_steps(complaints, child.id) == {"task_cause_analysis"}


def test_only_the_lane_role_sees_and_completes_a_task(complaints: Engine) -> None:
    with pytest.raises(PermissionDenied):
        complaints.start("complaint", COMPLAINT_RECEIVED, TECH1)
    assert "complaint" in [d.process_key for d in complaints.startable_definitions(CS)]
    case = complaints.start(
        "complaint", COMPLAINT_RECEIVED, CS
    ).id  # customer service may receive complaints too
    first_response(complaints, case)
    task = open_task(complaints, case, "task_register")

    assert offered(complaints, task, QA)
    for outsider in (SALES, CS, TECHDEPT, FIN, GM):
        assert not offered(complaints, task, outsider)
        with pytest.raises(PermissionDenied):
            complaints.complete(task.id, {"severity": "general", "screening_opinion": "x"}, outsider)
    assert open_task(complaints, case, "task_register").state == "open"
    register(complaints, case)
    assert open_steps(complaints, case) == {"task_investigation"}


# --- service levels --------------------------------------------------------------------------------


def test_first_response_escalates_to_quality_after_four_working_hours_across_the_weekend(
    complaints: Engine,
) -> None:
    case = receive(complaints)
    clock.advance(timedelta(days=1))  # Saturday: the weekend does not count
    fire_timers(complaints)
    clock.freeze(MONDAY_FIRST_RESPONSE_DUE - timedelta(minutes=1))
    fire_timers(complaints)
    assert open_steps(complaints, case) == {"task_first_response"}
    assert sla_breaches(complaints, case) == []

    clock.freeze(MONDAY_FIRST_RESPONSE_DUE + timedelta(minutes=1))
    fire_timers(complaints)
    # Non-interrupting: the answer is still owed, and quality management chases it.
    assert open_steps(complaints, case) == {"task_first_response", "task_first_response_overdue"}
    overdue = open_task(complaints, case, "task_first_response_overdue")
    assert offered(complaints, overdue, QA) and not offered(complaints, overdue, SALES)
    [breach] = sla_breaches(complaints, case)
    assert (breach.sla, breach.element_id, breach.task_element_id) == (
        "first_response",
        "timer_first_response",
        "task_first_response",
    )
    assert (breach.due_at, breach.breached_at) == (
        MONDAY_FIRST_RESPONSE_DUE,
        MONDAY_FIRST_RESPONSE_DUE + timedelta(minutes=1),
    )
    assert instance_row(complaints, case).late is True

    fire_timers(complaints)
    assert len(sla_breaches(complaints, case)) == 1  # once
    work(
        complaints, case, "task_first_response_overdue", QA, {"first_response_overdue_reason": "周末无人值守"}
    )
    first_response(complaints, case)
    assert open_steps(complaints, case) == {"task_register"}


def test_a_complaint_closed_after_the_limit_is_recorded_late(complaints: Engine) -> None:
    case = receive(complaints)
    first_response(complaints, case)
    register(complaints, case)
    investigate(complaints, case)

    clock.advance(timedelta(days=5, minutes=1))  # domestic limit: 5 days from receipt
    fire_timers(complaints)
    overdue = open_task(complaints, case, "task_closure_overdue")
    assert offered(complaints, overdue, QA)
    assert [(b.sla, b.element_id) for b in sla_breaches(complaints, case)] == [
        ("closure", "timer_closure_limit")
    ]
    work(complaints, case, "task_closure_overdue", QA, {"closure_overdue_reason": "等待客户会谈"})

    analyse(complaints, case, cause_type="human_slip")
    countermeasure_loss_and_approval(complaints, case)
    reply(complaints, case)
    work(complaints, case, "task_customer_decision", SALES, {"customer_accepts": "yes"})
    assert instance_row(complaints, case).status == "completed"
    assert task_data(complaints, case, "script_close")["closed_within_limit"] is False


def test_a_complaint_from_abroad_has_seven_days_and_closing_in_time_stops_the_watch(
    complaints: Engine,
) -> None:
    case = receive(complaints, market="abroad")
    handle_until_reply(complaints, case)
    assert timer_due(complaints, case, "timer_closure_limit") == FRIDAY_AFTERNOON + timedelta(days=7)
    reply(complaints, case)
    work(complaints, case, "task_customer_decision", SALES, {"customer_accepts": "yes"})
    work(
        complaints,
        case,
        "task_improvement_tracking",
        QA,
        {"improvement_result": "已改善", "improvement_effective": "yes"},
    )
    assert instance_row(complaints, case).status == "completed"
    assert task_data(complaints, case, "script_close")["closed_within_limit"] is True

    clock.advance(timedelta(days=8))
    fire_timers(complaints)
    assert sla_breaches(complaints, case) == []
    assert [e.action for e in events(complaints, case) if e.element_id == "timer_closure_limit"] == [
        "timer_cancelled"
    ]
