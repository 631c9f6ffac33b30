"""Technicians' and supervisors' daily reports, and the D (internal administrative) work they log.

- Each day a technician reports the hours spent on each kind of work — A paid, B contract,
  C free service, D internal administrative work — for the service supervisor to review
  [000 篇二 13); 001 维护与保养作业程序 1].
- The supervisor's daily report sums up the day's reviewed technicians' reports by kind; the
  manager reads and signs it before it goes to the service department [000 篇二 14)–15)].
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import FormInvalid, PermissionDenied
from engine.runtime import Engine
from engine.signatures.tables import Signature
from tests.scenarios.conftest import SHANGHAI, as_user, case_data, complete_step, instance_row, open_task

SUP, GM = as_user("sup1"), as_user("gm1")


def report(day: str, paid: float, contract: float, free: float, admin: float) -> dict[str, object]:
    return {
        "report_date": day,
        "hours_paid": paid,
        "hours_contract": contract,
        "hours_free": free,
        "hours_admin": admin,
        "work_description": "RO-20261123-0001 上门维修",
        "admin_work_description": "零件盘点，设备工具保养" if admin else "",
    }


def filed(engine: Engine, username: str, data: dict[str, object], reviewed: bool = True) -> int:
    case = engine.start("technician_daily_report", data, as_user(username)).id
    if reviewed:
        complete_step(engine, case, "task_report_review", {"report_checked": True}, SUP)
    return case


def test_a_technician_reports_the_days_hours_by_kind_and_the_supervisor_reviews_them(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    today = clock.now().astimezone(SHANGHAI).date().isoformat()
    with pytest.raises(FormInvalid) as refused:  # a day has no more than 24 hours of one kind
        engine.start("technician_daily_report", report(today, 25, 0, 0, 0), as_user("tech1"))
    assert set(refused.value.errors) == {"hours_paid"}
    with pytest.raises(PermissionDenied):  # the technician's own report
        engine.start("technician_daily_report", report(today, 2, 0, 3, 2), as_user("cs1"))

    case = filed(engine, "tech1", report(today, 2, 0, 3, 2), reviewed=False)
    review = open_task(engine, case, "task_report_review")
    assert review.role == "service_supervisor"
    assert case_data(engine, case)["total_hours"] == 7
    assert case_data(engine, case)["admin_work_description"] == "零件盘点，设备工具保养"
    complete_step(
        engine, case, "task_report_review", {"report_checked": True, "review_comment": "D 类时数偏多"}, SUP
    )
    assert instance_row(engine, case).status == "completed"


def test_the_supervisors_daily_report_sums_the_reviewed_reports_of_the_day_and_the_manager_signs_it(
    scenario_engine: Engine,
) -> None:
    engine = scenario_engine
    now = clock.now().astimezone(SHANGHAI).date()
    today, yesterday = now.isoformat(), (now - timedelta(days=1)).isoformat()
    filed(engine, "tech1", report(today, 2, 0, 3, 2))
    filed(engine, "tech2", report(today, 0, 4, 2, 1))
    filed(engine, "tech1", report(yesterday, 8, 0, 0, 0))  # another day
    filed(engine, "tech2", report(today, 1, 1, 1, 1), reviewed=False)  # not reviewed yet

    day = engine.start("supervisor_daily_report", {"report_date": today}, SUP).id
    summary = case_data(engine, day)["day_summary"]
    assert summary["hours"] == {"A": 2, "B": 4, "C": 5, "D": 3}
    assert summary["total_hours"] == 14
    assert [(r["technician"], r["total_hours"]) for r in summary["reports"]] == [("tech1", 7), ("tech2", 7)]
    assert summary["reports"][0]["admin_work"] == "零件盘点，设备工具保养"

    complete_step(
        engine, day, "task_supervisor_report", {"supervisor_summary": "A 2 h，B 4 h，C 5 h，D 3 h"}, SUP
    )
    sign = open_task(engine, day, "task_manager_sign")
    assert sign.role == "general_manager"
    complete_step(engine, day, "task_manager_sign", {"manager_remarks": "已阅"}, GM)
    assert instance_row(engine, day).status == "completed"
    with engine.sessions() as session:
        signed = session.execute(
            select(Signature.element_id, Signature.meaning).where(Signature.instance_id == day)
        ).all()
    assert signed == [("task_manager_sign", "批准")]
