"""Recurring visits run as scheduled processes from the archive.

- Every half year the customers of the archive are visited with the 《用户质量访问记录表及意见处理单》
  (疗效、副作用、剂型、用法用量、价格、包装), and the records are approved by the customer-service
  manager (the service supervisor) [002 4.1.3].
- Every quarter each delivered product's user is tracked by phone [004 10.1]; the run that falls
  in the first quarter of a year also has the service supervisor organise the yearly user tour
  [004 10.2].
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid
from engine.runtime import Engine
from engine.signatures.tables import Signature
from processes.records import archive
from tests.conftest import COMPLAINT_RECEIVED, DIAGRAMS, diagram_files
from tests.scenarios.conftest import (
    SHANGHAI,
    add_product,
    as_user,
    case_data,
    cases_of,
    complete_step,
    fire_timers,
    instance_row,
    open_steps,
    open_task,
    open_tasks,
    shanghai,
)

CS, SUP = as_user("cs1"), as_user("sup1")
VISIT = {
    "visit_method": "phone",
    "interviewee": "pharmacy_head",
    "efficacy": "疗效稳定",
    "side_effects": "未见不良反应",
    "dosage_form": "胶囊剂便于服用",
    "usage_dosage": "按说明书服用",
    "price_opinion": "价格合理",
    "packaging_opinion": "铝塑包装便于携带",
    "opinion_handling": "无需处理",
}


def half_year_run(engine: Engine) -> int:
    """Let the next half-yearly run start; return the case that ran."""
    (waiting,) = cases_of(engine, "quality_visit", "scheduled")
    clock.advance(timedelta(days=184))
    fire_timers(engine)
    assert instance_row(engine, waiting.id).status in ("running", "completed")
    return waiting.id


def test_the_quality_visit_is_scheduled_every_half_year() -> None:
    text = (DIAGRAMS / "quality_visit.bpmn").read_text(encoding="utf-8")
    assert '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P6M"</bpmn:timeDuration>' in text


def test_every_customer_is_visited_with_the_quality_record_and_the_manager_approves(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # Monday 2026-11-23 09:00
    add_product(engine, "SN-A", customer_name="仁济大药房")
    add_product(engine, "SN-B", customer_name="华东医药公司")
    case = half_year_run(engine)
    assert clock.now() >= shanghai(2027, 5, 23)
    tasks = open_tasks(engine, case)
    assert sorted(t.name for t in tasks) == ["用户质量访问 仁济大药房", "用户质量访问 华东医药公司"]
    assert {t.role for t in tasks} == {"customer_service"}

    first = tasks[0]
    with pytest.raises(FormInvalid) as refused:
        engine.complete(first.id, {k: v for k, v in VISIT.items() if k != "side_effects"}, CS)
    assert set(refused.value.errors) == {"side_effects"}

    for task in tasks:
        engine.complete(task.id, VISIT, CS)
    assert open_steps(engine, case) == {"task_visit_approval"}
    complete_step(
        engine,
        case,
        "task_visit_approval",
        {"visits_approved": "no", "approval_comment": "补充剂型意见"},
        SUP,
    )
    complete_step(engine, case, "task_visit_supplement", {"visit_supplement": "已补充"}, CS)
    complete_step(engine, case, "task_visit_approval", {"visits_approved": "yes"}, SUP)

    assert instance_row(engine, case).status == "completed"
    records = case_data(engine, case)["visit_records"]
    assert sorted(r["customer_name"] for r in records) == ["仁济大药房", "华东医药公司"]
    assert all(r["efficacy"] == "疗效稳定" and r["packaging"] == "铝塑包装便于携带" for r in records)
    assert len(cases_of(engine, "quality_visit", "scheduled")) == 1  # the next half year waits


def industry_profile(industry: str) -> dict[str, str]:
    """The diagrams with the company's industry (the company_profile setting) changed."""
    files = diagram_files()
    files["company_profile.dmn"] = files["company_profile.dmn"].replace(
        "<text>'pharmaceutical'</text>", f"<text>'{industry}'</text>"
    )
    return files


@pytest.mark.parametrize(("industry", "visited"), [("pharmaceutical", True), ("medical_devices", False)])
def test_the_quality_visit_runs_only_when_the_company_is_pharmaceutical(
    scenario_engine: Engine, industry: str, visited: bool
) -> None:
    """[002 4.1.3] is a pharmaceutical company's rule: a device company's run visits nobody."""
    engine = scenario_engine
    engine.deploy(industry_profile(industry), deployed_by="owner1")
    add_product(engine, "SN-P", customer_name="仁济大药房")
    case = half_year_run(engine)
    steps = open_steps(engine, case)
    if visited:
        assert steps == {"task_quality_visit"}
        assert case_data(engine, case)["industry"] == "pharmaceutical"
        return
    assert steps == set()
    assert instance_row(engine, case).status == "completed"
    assert case_data(engine, case)["industry"] == industry
    assert "visit_customers" not in case_data(engine, case)


TRACKED = {"usage_status": "每天使用，运行正常", "maintenance_guidance": "提醒每月清洁滤网"}


def test_each_quarter_every_delivered_product_is_tracked_by_phone_and_once_a_year_a_tour_is_organised(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine  # Monday 2026-11-23 09:00
    add_product(engine, "SN-T1", customer_name="仁济医院", sale_date=date(2026, 6, 1))
    add_product(engine, "SN-T2", customer_name="华山医院", sale_date=date(2026, 8, 1))
    add_product(engine, "SN-T3", customer_name="瑞金医院")  # not delivered yet: no sale date
    text = (DIAGRAMS / "user_tracking.bpmn").read_text(encoding="utf-8")
    assert '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3M"</bpmn:timeDuration>' in text

    (waiting,) = cases_of(engine, "user_tracking", "scheduled")
    clock.advance(timedelta(days=92, minutes=1))  # 2027-02-23: the first quarter of 2027
    fire_timers(engine)
    case = waiting.id
    calls = open_tasks(engine, case)
    assert sorted(t.name for t in calls) == ["电话跟踪 仁济医院 XR-200", "电话跟踪 华山医院 XR-200"]
    with pytest.raises(FormInvalid):
        engine.complete(calls[0].id, {"usage_status": "正常"}, CS)
    for call in calls:
        engine.complete(call.id, TRACKED, CS)
    tour = {"tour_plan": "三月走访华东区用户", "tour_findings": "两家用户需要操作培训"}
    complete_step(engine, case, "task_yearly_tour", tour, SUP)
    assert instance_row(engine, case).status == "completed"
    records = case_data(engine, case)["tracking_records"]
    assert sorted(r["serial_number"] for r in records) == ["SN-T1", "SN-T2"]

    (next_run,) = cases_of(engine, "user_tracking", "scheduled")
    clock.advance(timedelta(days=92, minutes=1))  # May 2027: a phone round only
    fire_timers(engine)
    assert {t.spec_id for t in open_tasks(engine, next_run.id)} == {"task_phone_tracking"}


# --- monthly call-backs and fixed-point units ------------------------------------------------------

TECH = as_user("tech1")
CALLED = {
    "contact_person": "设备科王主任",
    "usage_status": "每天使用，运行正常",
    "quality_tracking": "无质量问题",
    "customer_needs": "希望安排一次操作培训",
}


def monthly_run(engine: Engine, process_key: str) -> int:
    """Let the next monthly run of a scheduled process start; return the case that ran."""
    (waiting,) = cases_of(engine, process_key, "scheduled")
    clock.advance(timedelta(days=31, minutes=1))
    fire_timers(engine)
    return waiting.id


def visits_of(engine: Engine, customer_name: str) -> list[archive.VisitEntry]:
    with engine.sessions() as session:
        customer = archive.customer_named(session, customer_name)
        assert customer is not None
        profile = archive.customer_profile(session, customer.id)
        assert profile is not None
        return profile.visits


def test_every_month_each_customer_with_an_accepted_product_is_called_back_and_the_call_is_recorded(
    scenario_engine: Engine,
) -> None:
    """[001 产品服务措施 6]: from acceptance, a phone call-back and quality tracking every month."""
    engine = scenario_engine  # Monday 2026-11-23 09:00
    text = (DIAGRAMS / "monthly_call_back.bpmn").read_text(encoding="utf-8")
    assert '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1M"</bpmn:timeDuration>' in text
    add_product(engine, "SN-M1", customer_name="仁济医院", sale_date=date(2026, 6, 1))
    add_product(engine, "SN-M2", customer_name="仁济医院", model="XR-300", sale_date=date(2026, 7, 1))
    add_product(engine, "SN-M3", customer_name="瑞金医院")  # not accepted yet: no call-back
    case = monthly_run(engine, "monthly_call_back")  # Thursday 2026-12-24 09:01
    (call,) = open_tasks(engine, case)
    assert call.name == "每月电话回访 仁济医院" and call.role == "customer_service"
    # five working days on the calendar: Fri 25, Mon 28, Tue 29, Wed 30, Thu 31 December
    assert call.due_at == shanghai(2026, 12, 31, 9, 1)
    assert case_data(engine, case)["call_back_customers"][0]["products"] == "XR-200、XR-300"

    with pytest.raises(FormInvalid) as refused:
        engine.complete(call.id, {k: v for k, v in CALLED.items() if k != "quality_tracking"}, CS)
    assert set(refused.value.errors) == {"quality_tracking"}
    assert visits_of(engine, "仁济医院") == []
    engine.complete(call.id, {**CALLED, "needs_service": True}, CS)

    assert instance_row(engine, case).status == "completed"
    (visit,) = visits_of(engine, "仁济医院")
    assert visit.kind == "call_back" and visit.instance.id == case
    assert (
        "设备科王主任" in visit.summary and "无质量问题" in visit.summary and "需要安排服务" in visit.summary
    )
    assert visits_of(engine, "瑞金医院") == []
    assert len(cases_of(engine, "monthly_call_back", "scheduled")) == 1  # next month waits


FIXED_POINT = {
    "visitor": "张工",
    "services_performed": "巡检两台设备，更换滤网，培训新护士",
    "equipment_condition": "needs_attention",
    "unit_opinions": "希望缩短备件到货时间",
}


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 8, 28, 9, 0)])  # a Friday
def test_every_month_the_fixed_point_units_are_visited_and_the_visit_is_kept_on_the_customer(
    scenario_engine: Engine,
) -> None:
    """[000 篇一 二.3]: chosen medical units are visited every month; the class is set in the archive."""
    engine = scenario_engine
    add_product(engine, "SN-F1", customer_name="徐汇区中心医院")
    add_product(engine, "SN-F2", customer_name="闵行区卫生院")
    with engine.writer.begin() as session:
        unit = archive.customer_named(session, "徐汇区中心医院")
        assert unit is not None
        archive.set_customer_classes(session, unit.id, key_customer=False, fixed_point_unit=True)
    case = monthly_run(engine, "fixed_point_visit")  # Monday 2026-09-28 09:01
    (visit_task,) = open_tasks(engine, case)
    assert visit_task.name == "定点单位服务 徐汇区中心医院" and visit_task.role == "technician"
    # ten working days on the calendar: 29–30 September, National Day 1–7 October off,
    # 8–9 October, the make-up Saturday 10 October, 12–16 October
    assert visit_task.due_at == shanghai(2026, 10, 16, 9, 1)
    visited_on = clock.now().astimezone(SHANGHAI).date().isoformat()
    with pytest.raises(FormInvalid) as refused:
        engine.complete(visit_task.id, {**FIXED_POINT, "visit_date": visited_on, "unit_opinions": ""}, TECH)
    assert set(refused.value.errors) == {"unit_opinions"}
    engine.complete(visit_task.id, {**FIXED_POINT, "visit_date": visited_on}, TECH)

    assert instance_row(engine, case).status == "completed"
    (visit,) = visits_of(engine, "徐汇区中心医院")
    assert visit.kind == "fixed_point_visit"
    assert "张工" in visit.summary and "更换滤网" in visit.summary and "有隐患" in visit.summary
    assert visits_of(engine, "闵行区卫生院") == []

    with engine.writer.begin() as session:  # no longer a fixed-point unit: the next run visits nobody
        archive.set_customer_classes(session, unit.id, key_customer=False, fixed_point_unit=False)
    following = monthly_run(engine, "fixed_point_visit")
    assert open_tasks(engine, following) == []
    assert case_data(engine, following)["fixed_point_customers"] == []


# --- the monthly user-feedback ledger ------------------------------------------------------------------


def ledger_cases(engine: Engine) -> list[int]:
    return sorted(case.id for case in cases_of(engine, "user_feedback_ledger") if case.status != "scheduled")


@pytest.mark.parametrize("scenario_time", [shanghai(2026, 10, 20, 9, 0)])
def test_on_the_1st_last_months_user_feedback_is_listed_in_the_ledger_and_signed_off(
    scenario_engine: Engine,
) -> None:
    """[002 4.2.6]: every month all user feedback is summed up in the 《市场信息反馈台帐》."""
    engine = scenario_engine  # Tuesday 2026-10-20
    sales = as_user("sales1")
    october = engine.start("complaint", COMPLAINT_RECEIVED, sales).id
    add_product(engine, "SN-L1", customer_name="仁济医院", sale_date=date(2026, 6, 1))
    call_back = monthly_run(engine, "monthly_call_back")  # Friday 2026-11-20 09:01
    (call,) = open_tasks(engine, call_back)
    engine.complete(call.id, CALLED, CS)
    november = engine.start("complaint", {**COMPLAINT_RECEIVED, "customer_name": "华山医院"}, sales).id

    (for_october,) = ledger_cases(engine)  # the run of 1 November summed up October
    assert case_data(engine, for_october)["feedback_ledger"]["month"] == "2026-10"
    october_lines = case_data(engine, for_october)["feedback_ledger"]["lines"]
    assert [line["reference"] for line in october_lines] == [instance_row(engine, october).business_number]

    clock.freeze(shanghai(2026, 11, 30, 23, 59))
    fire_timers(engine)
    assert ledger_cases(engine) == [for_october]
    clock.freeze(shanghai(2026, 12, 1, 0, 1))
    fire_timers(engine)
    (case,) = (found for found in ledger_cases(engine) if found != for_october)
    ledger = case_data(engine, case)["feedback_ledger"]
    assert (ledger["month"], ledger["total"]) == ("2026-11", 2)
    assert ledger["counts"] == {
        "repair": 0,
        "complaint": 1,
        "return": 0,
        "call_back": 1,
        "fixed_point_visit": 0,
    }
    assert [(line["day"], line["customer"], line["kind"]) for line in ledger["lines"]] == [
        ("2026-11-20", "仁济医院", "call_back"),
        ("2026-11-20", "华山医院", "complaint"),
    ]
    assert "设备科王主任" in ledger["lines"][0]["content"]
    assert ledger["lines"][1]["reference"] == instance_row(engine, november).business_number

    prepare = open_task(engine, case, "task_ledger_prepare")
    assert (prepare.role, prepare.due_at) == ("customer_service", shanghai(2026, 12, 10))
    summary = {"ledger_checked": True, "feedback_summary": "投诉 1 件，回访 1 次"}
    complete_step(engine, case, "task_ledger_prepare", summary, CS)
    approve = open_task(engine, case, "task_ledger_approve")
    assert (approve.role, approve.due_at) == ("service_supervisor", shanghai(2026, 12, 10))
    with pytest.raises(FormInvalid):  # sending it back needs the reason
        complete_step(engine, case, "task_ledger_approve", {"ledger_approved": "no"}, SUP)
    back = {"ledger_approved": "no", "ledger_comment": "补充投诉的处理情况"}
    complete_step(engine, case, "task_ledger_approve", back, SUP)
    complete_step(
        engine, case, "task_ledger_prepare", {**summary, "feedback_actions": "华山医院投诉已转质量部"}, CS
    )
    complete_step(engine, case, "task_ledger_approve", {"ledger_approved": "yes"}, SUP)
    assert instance_row(engine, case).status == "completed"
    with engine.sessions() as session:
        signed = session.execute(
            select(Signature.element_id, Signature.meaning, Signature.signer_username).where(
                Signature.instance_id == case
            )
        ).all()
    assert sorted(signed) == [("task_ledger_approve", "批准", "sup1")] * 2
