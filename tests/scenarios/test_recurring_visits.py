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

from engine import clock
from engine.errors import FormInvalid
from engine.runtime import Engine
from tests.conftest import DIAGRAMS, diagram_files
from tests.scenarios.conftest import (
    add_product,
    as_user,
    case_data,
    cases_of,
    complete_step,
    fire_timers,
    instance_row,
    open_steps,
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
