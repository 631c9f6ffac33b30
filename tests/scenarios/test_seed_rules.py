"""The seeds' rules the first models got wrong, each driven through the real diagrams.

Each test names the seed clause it proves and fails on the earlier behaviour:

- the consumer return window counts working days on the calendar up to the request [003 二.1];
- the 12-hour loaner mark is a trigger, the loaner is due within 24 hours and "not provided"
  needs a reason [001 产品服务措施 4];
- a complex repair has one week, seven calendar days [001 4.2];
- dispatch is due 2 working days from acceptance (受理), not from the dispatch task [001 第九条(二)];
- paid service is invoiced the same day (当天) [000 篇二 8), 11)];
- the complaint closure limit runs from acceptance [001 客户投诉案件处理期限 1];
- a limit changed in the policy table changes the next case's due time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine import clock
from engine.errors import FormInvalid
from engine.runtime import Engine
from processes.demo.signatures import signed_by
from processes.kpis.dashboard import current_dashboard
from tests.conftest import COMPLAINT_RECEIVED, diagram_files
from tests.scenarios.conftest import (
    REPAIR_REQUEST,
    as_user,
    case_data,
    cases_of,
    complete_step,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    shanghai,
    sla_breaches,
    timers_fired,
)
from tests.scenarios.test_sales_return import BILL, NOTICE_OK, SALES, add_ledger_line, request

CS, SUP, TECH2, ACCT = (as_user(u) for u in ("cs1", "sup1", "tech2", "acct1"))
ON_SITE = {
    "outcome": "fixed_on_site",
    "work_done": "更换主板",
    "hours_spent": 13,
    "customer_signature": signed_by("王工"),
}
SATISFIED = {
    "rating_attitude": "very_satisfied",
    "rating_technique": "satisfied",
    "rating_arrival_time": "satisfied",
    "rating_promises": "very_satisfied",
}


def register(engine: Engine, **overrides: Any) -> int:
    return engine.start("repair_service", {**REPAIR_REQUEST, **overrides}, CS).id


def to_repair(engine: Engine, case: int, fault_level: str = "minor") -> None:
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    arrived = {"arrived_at": clock.now().isoformat(), "fault_level": fault_level}
    complete_step(engine, case, "task_arrival", arrived, TECH2)


def breach_stages(engine: Engine, case: int) -> list[tuple[str, str]]:
    return [(b.sla, b.element_id) for b in sla_breaches(engine, case)]


# --- 1. consumer return window [003 二.1] --------------------------------------------------------


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 10, 8, 10, 0)])  # Thursday after National Day
def test_a_consumer_return_asked_two_working_days_after_purchase_is_in_the_window(
    scenario_engine: Engine,
) -> None:
    """Bought Tue 29 Sep 2026, asked Thu 8 Oct: Sep 30 and Oct 8 are the only working days between."""
    engine = scenario_engine
    add_ledger_line(engine, sale_date=date(2026, 9, 29))
    case = engine.start(
        "sales_return",
        request(customer_type="consumer", purchase_date="2026-09-29", reason="wrong_delivery"),
        SALES,
    ).id
    # The billing clerk checks the ledger on Monday Oct 12 (after the make-up Saturday): the
    # window still counts to the day the customer asked.
    clock.freeze(shanghai(2026, 10, 12, 9, 0))
    complete_step(engine, case, "task_return_notice", NOTICE_OK, BILL)
    data = case_data(engine, case)
    assert (data["request_date"], data["days_since_purchase"]) == ("2026-10-08", 2)
    assert (data["eligible"], data["ineligible_reason"]) == (True, "")
    assert open_steps(engine, case) == {"task_approve_business", "task_approve_quality"}


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 10, 12, 10, 0)])
def test_a_consumer_return_asked_after_three_working_days_is_refused(scenario_engine: Engine) -> None:
    """Bought Tue 29 Sep, asked Mon 12 Oct: Sep 30, Oct 8, Oct 9, Oct 10 (make-up), Oct 12 = 5."""
    engine = scenario_engine
    add_ledger_line(engine, sale_date=date(2026, 9, 29))
    case = engine.start(
        "sales_return",
        request(customer_type="consumer", purchase_date="2026-09-29", reason="wrong_delivery"),
        SALES,
    ).id
    complete_step(engine, case, "task_return_notice", NOTICE_OK, BILL)
    data = case_data(engine, case)
    assert data["days_since_purchase"] == 5
    assert data["eligible"] is False and "3 个工作日" in data["ineligible_reason"]


# --- 4. the loaner: a trigger, an obligation within 24 hours, a reason when refused --------------


def test_a_complex_fault_fixed_in_13_hours_is_on_time_and_the_loaner_mark_is_no_breach(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # Monday 2026-11-23 09:00
    case = register(engine)
    to_repair(engine, case, fault_level="complex")
    clock.advance(timedelta(hours=12, minutes=1))
    fire_timers(engine)
    assert timers_fired(engine, case) == ["timer_loaner"]
    assert open_task(engine, case, "task_loaner").due_at == clock.now() + timedelta(hours=24)
    complete_step(engine, case, "task_loaner", {"loaner_provided": "yes", "loaner_model": "XR-200"}, SUP)
    clock.advance(timedelta(hours=1))
    complete_step(engine, case, "task_repair", ON_SITE, TECH2)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    complete_step(engine, case, "task_follow_up", SATISFIED, CS)

    row = instance_row(engine, case)
    assert (row.status, row.late) == ("completed", False)
    assert breach_stages(engine, case) == []
    timeliness = current_dashboard(engine).kpis["timeliness"].overall
    assert (timeliness.hits, timeliness.total) == (1, 1)


def test_a_loaner_not_provided_within_24_hours_is_the_breach(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    to_repair(engine, case, fault_level="complex")
    clock.advance(timedelta(hours=12, minutes=1))
    fire_timers(engine)
    due = open_task(engine, case, "task_loaner").due_at
    clock.freeze(due - timedelta(minutes=1))
    fire_timers(engine)
    assert breach_stages(engine, case) == []
    clock.freeze(due + timedelta(minutes=1))
    fire_timers(engine)
    assert breach_stages(engine, case) == [("loaner", "timer_loaner_late")]
    assert instance_row(engine, case).late is True
    assert "task_loaner" in open_steps(engine, case)  # the obligation stays open


def test_no_loaner_needs_a_reason(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    to_repair(engine, case, fault_level="complex")
    clock.advance(timedelta(hours=12, minutes=1))
    fire_timers(engine)
    with pytest.raises(FormInvalid) as refused:
        complete_step(engine, case, "task_loaner", {"loaner_provided": "no"}, SUP)
    assert set(refused.value.errors) == {"loaner_not_provided_reason"}
    assert "task_loaner" in open_steps(engine, case)  # nothing changed
    complete_step(
        engine,
        case,
        "task_loaner",
        {"loaner_provided": "no", "loaner_not_provided_reason": "客户表示不需要备用机"},
        SUP,
    )
    assert "task_loaner" not in open_steps(engine, case)


# --- 5. complex repair: one week is seven calendar days [001 4.2] ---------------------------------


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 9, 30, 10, 0)])
def test_a_complex_repair_over_national_day_is_due_in_seven_calendar_days(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine)
    to_repair(engine, case, fault_level="complex")
    # 5 working days would run to Tuesday Oct 13 (13 days); one week is Wednesday Oct 7.
    assert open_task(engine, case, "task_repair").due_at == shanghai(2026, 10, 7, 10, 0)


# --- 6. dispatch from acceptance [001 第九条(二)] ---------------------------------------------------


def test_dispatch_is_due_two_working_days_from_acceptance_not_from_the_dispatch_task(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # accepted Monday 2026-11-23 09:00
    case = register(engine, cause="modification")  # paid service: quoted first
    clock.advance(timedelta(days=1))  # guidance and the quote take until Tuesday
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete_step(
        engine,
        case,
        "task_quote",
        {"solution": "恢复原厂设置", "quoted_fee": 300, "customer_accepts": "yes"},
        CS,
    )
    assert open_task(engine, case, "task_dispatch").due_at == shanghai(2026, 11, 25, 9, 0)
    clock.freeze(shanghai(2026, 11, 25, 9, 1))
    fire_timers(engine)
    assert breach_stages(engine, case) == [("dispatch", "timer_dispatch_late")]


# --- 7. invoicing the same day [000 篇二 8), 11)] ---------------------------------------------------


def test_paid_service_is_invoiced_the_same_day(scenario_engine: Engine) -> None:
    engine = scenario_engine
    case = register(engine, cause="modification")
    complete_step(engine, case, "task_remote_guidance", {"solved_by_phone": "no"}, CS)
    complete_step(
        engine,
        case,
        "task_quote",
        {"solution": "恢复原厂设置", "quoted_fee": 300, "customer_accepts": "yes"},
        CS,
    )
    complete_step(engine, case, "task_dispatch", {"technician": "tech2"}, SUP)
    complete_step(
        engine, case, "task_arrival", {"arrived_at": clock.now().isoformat(), "fault_level": "minor"}, TECH2
    )
    complete_step(engine, case, "task_repair", {**ON_SITE, "hours_spent": 2}, TECH2)
    clock.advance(timedelta(hours=5))  # accepted Monday 14:00
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    assert open_task(engine, case, "task_invoice").due_at == shanghai(2026, 11, 23, 17, 30)
    clock.freeze(shanghai(2026, 11, 23, 17, 31))
    fire_timers(engine)
    assert breach_stages(engine, case) == [("invoice", "timer_invoice_late")]


# --- 8. complaint closure from acceptance [001 客户投诉案件处理期限 1] ----------------------------------


def test_the_complaint_closure_limit_runs_from_acceptance_not_from_the_first_response(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # received Monday 2026-11-23 09:00
    case = engine.start("complaint", COMPLAINT_RECEIVED, SALES).id
    clock.advance(timedelta(hours=3))
    complete_step(
        engine,
        case,
        "task_first_response",
        {"first_response_channel": "phone", "first_response_text": "已收到投诉"},
        SALES,
    )
    assert case_data(engine, case)["closure_due"] == "2026-11-28T09:00:00+08:00"
    clock.freeze(shanghai(2026, 11, 28, 9, 1))
    fire_timers(engine)
    assert breach_stages(engine, case) == [("closure", "timer_closure_limit")]


# --- limits are policy data ---------------------------------------------------------------------------


def edited_policy(rule: str, amount: str) -> dict[str, str]:
    files = diagram_files()
    text = files["sla_policy.dmn"]
    old = f'<outputEntry id="{rule}"><text>'
    start = text.index(old) + len(old)
    files["sla_policy.dmn"] = text[:start] + amount + text[text.index("</text>", start) :]
    return files


@pytest.mark.parametrize(
    ("rule", "amount", "step", "due"),
    [
        pytest.param(
            "rule_repair_loaner_provide_default_amount", "8", "task_loaner", timedelta(hours=8), id="loaner"
        ),
        pytest.param(
            "rule_repair_parts_return_default_amount", "5", "task_parts_return", timedelta(days=5), id="parts"
        ),
    ],
)
def test_a_limit_changed_in_the_policy_table_changes_the_next_cases_due_time(
    scenario_engine: Engine, rule: str, amount: str, step: str, due: timedelta
) -> None:
    engine = scenario_engine
    engine.deploy(edited_policy(rule, amount), deployed_by="owner1")
    case = register(engine)
    to_repair(engine, case, fault_level="complex")
    if step == "task_loaner":
        clock.advance(timedelta(hours=12, minutes=1))
        fire_timers(engine)
    else:
        complete_step(engine, case, "task_repair", {**ON_SITE, "parts_borrowed": True}, TECH2)
    assert open_task(engine, case, step).due_at == clock.now() + due


# --- 3. complaint rate attributable to service [001 客户抱怨率(确属服务责任的)] ---------------------------

QA, SALES_REP = as_user("qa1"), as_user("sales1")
INTAKE = {
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


def completed_repair(engine: Engine, follow_up: dict[str, Any] = SATISFIED) -> int:
    case = register(engine)
    to_repair(engine, case)
    complete_step(engine, case, "task_repair", {**ON_SITE, "hours_spent": 2}, TECH2)
    complete_step(engine, case, "task_acceptance", {"accepted": "yes"}, SUP)
    complete_step(engine, case, "task_follow_up", follow_up, CS)
    assert instance_row(engine, case).status == "completed"
    return case


def investigate_and_blame(engine: Engine, complaint: int, substantiated: str, department: str) -> None:
    complete_step(
        engine,
        complaint,
        "task_register",
        {"severity": "general", "screening_opinion": "核实中", "joint_investigation": False},
        QA,
    )
    complete_step(
        engine,
        complaint,
        "task_investigation",
        {"investigation_report": "电话回访核实", "complaint_substantiated": substantiated},
        QA,
    )
    complete_step(
        engine,
        complaint,
        "task_cause_analysis",
        {
            "cause_analysis": "见调查报告",
            "responsible_department": department,
            "cause_type": "other",
            "proposed_disposition": "explain",
            "disposition_detail": "向客户说明",
        },
        QA,
    )


def service_complaint_rate(engine: Engine) -> tuple[int, int]:
    rate = current_dashboard(engine).kpis["complaint_rate"].overall
    return rate.hits, rate.total


def test_a_follow_up_complaint_the_customer_caused_does_not_count_against_the_service(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    repair = completed_repair(engine, {**SATISFIED, "rating_attitude": "unsatisfied"})
    (complaint,) = [c.id for c in cases_of(engine, "complaint")]
    complete_step(engine, complaint, "task_intake_repair", INTAKE, CS)
    investigate_and_blame(engine, complaint, substantiated="no", department="customer")
    assert service_complaint_rate(engine) == (0, 1)
    assert instance_row(engine, repair).status == "completed"


def test_a_complaint_received_directly_about_a_repair_counts_when_the_service_is_responsible(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    repair = completed_repair(engine)
    number = instance_row(engine, repair).business_number
    complaint = engine.start("complaint", {**COMPLAINT_RECEIVED, "repair_order": number}, SALES_REP).id
    complete_step(
        engine,
        complaint,
        "task_first_response",
        {"first_response_channel": "phone", "first_response_text": "已收到投诉"},
        SALES_REP,
    )
    assert service_complaint_rate(engine) == (0, 1)  # not attributed yet
    investigate_and_blame(engine, complaint, substantiated="yes", department="after_sales")
    assert service_complaint_rate(engine) == (1, 1)


def test_a_complaint_naming_a_repair_order_that_does_not_exist_is_refused(scenario_engine: Engine) -> None:
    engine = scenario_engine
    completed_repair(engine)
    with pytest.raises(FormInvalid) as refused:
        engine.start("complaint", {**COMPLAINT_RECEIVED, "repair_order": "RO-20990101-0001"}, SALES_REP)
    assert set(refused.value.errors) == {"repair_order"}
    assert cases_of(engine, "complaint") == []


# --- 2. monthly complaint statistics [001 客户反应调查及处理 6] ---------------------------------------

CLOSING_STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("task_first_response", "sales1", {"first_response_channel": "phone", "first_response_text": "已收到"}),
    ("task_register", "qa1", {"severity": "general", "screening_opinion": "返修后复发"}),
    ("task_investigation", "qa1", {"investigation_report": "电源板虚焊", "complaint_substantiated": "yes"}),
    (
        "task_cause_analysis",
        "qa1",
        {
            "cause_analysis": "返修未更换电源板",
            "responsible_department": "after_sales",
            "cause_type": "process",
            "proposed_disposition": "replace",
            "disposition_detail": "更换整机",
        },
    ),
    ("task_countermeasure", "techdept1", {"technical_cause": "焊点疲劳", "countermeasure": "增加检查"}),
    ("task_loss", "fin1", {"loss_amount": "100"}),
    ("task_gm_approval", "gm1", {"approval_decision": "approve", "approved_disposition": "更换"}),
    (
        "task_customer_visit",
        "techdept1",
        {
            "visitor": "王主管",
            "visitor_capacity": "head",
            "visit_date": "2026-11-20",
            "visit_result": "已当面说明",
        },
    ),
    (
        "task_reply",
        "sales1",
        {
            "reply_channel": "phone",
            "reply_date": "2026-11-23",
            "reply_text": "为您更换。",
            "reply_within_approval": True,
        },
    ),
    ("task_customer_decision", "sales1", {"customer_accepts": "yes"}),
    ("task_improvement_tracking", "qa1", {"improvement_result": "已修订", "improvement_effective": "yes"}),
)


def test_on_the_1st_last_months_closed_complaints_are_summarised_and_confirmed_by_the_10th(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # Monday 2026-11-23
    closed = engine.start("complaint", COMPLAINT_RECEIVED, SALES_REP).id
    for spec_id, username, data in CLOSING_STEPS:
        complete_step(engine, closed, spec_id, data, as_user(username))
    assert instance_row(engine, closed).status == "completed"
    engine.start("complaint", COMPLAINT_RECEIVED, SALES_REP)  # received in November, still open

    clock.freeze(shanghai(2026, 11, 30, 23, 59))
    fire_timers(engine)
    assert cases_of(engine, "complaint_statistics", "running") == []
    clock.freeze(shanghai(2026, 12, 1, 0, 1))
    fire_timers(engine)
    (statistics,) = cases_of(engine, "complaint_statistics", "running")
    prepare = open_task(engine, statistics.id, "task_statistics_prepare")
    assert (prepare.role, prepare.due_at) == ("quality", shanghai(2026, 12, 10))
    table = case_data(engine, statistics.id)["statistics"]
    assert (table["month"], table["total"], table["within_limit"]) == ("2026-11", 1, 1)
    assert table["responsibility"] == [{"department": "after_sales", "cases": 1, "ratio": 1.0}]
    assert table["cells"] == [
        {"category": "repair_quality", "department": "after_sales", "cases": 1, "within_limit": 1, "major": 0}
    ]

    complete_step(
        engine,
        statistics.id,
        "task_statistics_prepare",
        {"statistics_checked": True, "statistics_analysis": "维修质量投诉 1 件"},
        QA,
    )
    confirm = open_task(engine, statistics.id, "task_statistics_confirm")
    assert (confirm.role, confirm.due_at) == ("technical", shanghai(2026, 12, 10))
    with pytest.raises(FormInvalid):  # sending it back needs the reason
        complete_step(
            engine,
            statistics.id,
            "task_statistics_confirm",
            {"responsibility_confirmed": "no"},
            as_user("techdept1"),
        )
    complete_step(
        engine,
        statistics.id,
        "task_statistics_confirm",
        {"responsibility_confirmed": "yes"},
        as_user("techdept1"),
    )
    assert instance_row(engine, statistics.id).status == "completed"
    assert sla_breaches(engine, statistics.id) == []


def test_the_kpi_targets_are_rows_of_the_policy_table(scenario_engine: Engine) -> None:
    """Another company's targets ([004] ≥ 90 % instead of [001] > 95 %) are a table edit, not code."""
    engine = scenario_engine
    assert current_dashboard(engine).targets["timeliness"][:2] == (0.95, ">")
    assert current_dashboard(engine).targets["complaint_rate"][:2] == (0.02, "<")
    engine.deploy(edited_policy("rule_kpi_timeliness_amount", "0.9"), deployed_by="owner1")
    assert current_dashboard(engine).targets["timeliness"][:2] == (0.9, ">")
