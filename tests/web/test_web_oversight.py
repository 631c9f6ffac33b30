"""The managers' view through the Flask test client: case list, detail, operations, KPIs, statistics."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor
from engine.runtime.runner import TimerRunner
from engine.store.models import Event, ProcessInstance, Task
from tests.conftest import COMPLAINT_RECEIVED
from tests.web.conftest import NOW, Seed, Web, close_complaint

CS = Actor("cs1", frozenset({"customer_service"}))
SUP = Actor("sup1", frozenset({"service_supervisor"}))
MANAGE_PAGES = ("/manage/cases", "/manage/kpis", "/manage/processes", "/manage/complaints")


def case_numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/manage/cases/\d+">([A-Z]{2}-\d{8}-\d{4}|[A-Z0-9-]+)</a>', html)


def instance(web: Web, number: str) -> ProcessInstance:
    with web.engine.sessions() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.business_number == number))
        assert row is not None
        return row


def audit(web: Web, number: str, action: str) -> list[Event]:
    with web.engine.sessions() as session:
        return list(
            session.scalars(
                select(Event).where(Event.instance_id == instance(web, number).id, Event.action == action)
            )
        )


@pytest.fixture
def cases(web: Web) -> dict[str, str]:
    """A repair at dispatch, an emergency repair gone late, and 30 seeded cases for paging."""
    web.freeze(NOW)
    at_dispatch = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(at_dispatch, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    late = web.start_repair(web.client("cs1"), urgency="emergency", customer_name="浦东迟到医院")
    clock.advance(timedelta(hours=3))
    TimerRunner(web.engine, name="test").run_once()
    web.seed(
        *(
            Seed(f"RO-20260301-{n:04d}", customer=f"客户{n}", created=NOW - timedelta(days=9))
            for n in range(30)
        )
    )
    return {"dispatch": at_dispatch, "late": late}


def test_only_managers_see_the_managers_pages(web: Web, cases: dict[str, str]) -> None:
    clerk = web.client("cs1")
    for url in MANAGE_PAGES:
        assert clerk.get(url).status_code == 403
    case_id = instance(web, cases["dispatch"]).id
    refused = clerk.post(f"/manage/cases/{case_id}/suspend", data={"reason": "想试试"})
    assert refused.status_code == 403
    assert instance(web, cases["dispatch"]).status == "running"
    assert web.client().get("/manage/cases").status_code == 302  # to the login page
    manager = web.client("sup1")
    for url in MANAGE_PAGES:
        assert manager.get(url).status_code == 200, url
    assert "/manage/cases" in manager.get("/").text  # the navigation link
    assert "/manage/cases" not in clerk.get("/").text


def test_the_case_list_filters_searches_and_pages(web: Web, cases: dict[str, str]) -> None:
    manager = web.client("sup1")
    page = manager.get("/manage/cases", query_string={"per_page": 25})
    assert '<span id="case-total">32</span>' in page.text
    assert len(case_numbers(page.text)) == 25
    second = manager.get("/manage/cases", query_string={"per_page": 25, "page": 2})
    assert len(case_numbers(second.text)) == 7
    assert set(case_numbers(page.text)).isdisjoint(case_numbers(second.text))

    late = manager.get("/manage/cases", query_string={"status": "late"})
    assert case_numbers(late.text) == [cases["late"]]
    found = manager.get("/manage/cases", query_string={"q": cases["dispatch"]})
    assert case_numbers(found.text) == [cases["dispatch"]]
    by_customer = manager.get("/manage/cases", query_string={"customer": "迟到"})
    assert case_numbers(by_customer.text) == [cases["late"]]
    by_step = manager.get("/manage/cases", query_string={"step": "派工"})
    assert case_numbers(by_step.text) == [cases["dispatch"]]
    by_date = manager.get(
        "/manage/cases", query_string={"started_from": "2026-03-10", "started_to": "2026-03-10"}
    )
    assert sorted(case_numbers(by_date.text)) == sorted(cases.values())
    breached = manager.get("/manage/cases", query_string={"breached": "yes"})
    assert case_numbers(breached.text) == [cases["late"]]


def test_exports_hold_what_the_list_shows(web: Web, cases: dict[str, str]) -> None:
    manager = web.client("sup1")
    exported = manager.get("/manage/cases", query_string={"status": "late", "format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][0] == cases["late"]
    workbook = manager.get("/manage/cases", query_string={"q": "RO-20260301", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    assert sheet.max_row == 31  # header + the 30 seeded cases, not only the first page


def test_the_case_detail_marks_the_diagram_and_shows_the_timeline(web: Web, cases: dict[str, str]) -> None:
    row = instance(web, cases["late"])
    page = web.client("sup1").get(f"/manage/cases/{row.id}")
    assert page.status_code == 200
    marking = json.loads(re.search(r"data-marking='([^']*)'", page.text).group(1))  # type: ignore[union-attr]
    assert "task_remote_guidance" in marking["active"]
    assert "task_response_escalation" in marking["active"]
    assert "timer_response_late" in marking["completed"]
    assert {"task_remote_guidance", "timer_response_late"} <= set(marking["late"])
    assert "bpmn:definitions" in html.unescape(re.search(r'data-xml="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
    assert "浦东迟到医院" in page.text  # the case data from the start event
    assert page.text.count('<li class="event-') >= 3
    dispatch = web.client("sup1").get(f"/manage/cases/{instance(web, cases['dispatch']).id}")
    marking = json.loads(re.search(r"data-marking='([^']*)'", dispatch.text).group(1))  # type: ignore[union-attr]
    assert marking["completed"] == ["task_remote_guidance"] and marking["active"] == ["task_dispatch"]
    # What was entered reads under the form's labels, in the timeline and in the case data.
    timeline = dispatch.text[dispatch.text.index('id="timeline"') :]
    assert "<dt>电话指导已解决</dt><dd>否</dd>" in timeline
    assert "原始记录" in timeline  # and the record as stored, for an inspector
    data = dispatch.text[dispatch.text.index('id="case-data"') : dispatch.text.index('id="timeline"')]
    guidance = data.split('data-element="task_remote_guidance"')[1].split("</article>")[0]
    assert "<th>电话指导已解决</th><td>否</td>" in guidance  # under the step that entered it
    # Managers read labels; the variable names stay behind the process owners' 「技术信息」 toggle.
    assert "solved_by_phone" not in data
    assert 'id="show-data-keys"' not in dispatch.text
    raw = dispatch.text.split('id="raw-record"')[1].split("</details>")[0]
    assert "solved_by_phone" in raw  # the raw record, one click away


def test_operations_need_a_reason_which_goes_into_the_audit_log(web: Web, cases: dict[str, str]) -> None:
    manager = web.client("sup1")
    number = cases["dispatch"]
    case_id = instance(web, number).id
    refused = manager.post(f"/manage/cases/{case_id}/suspend", data={"reason": "  "})
    assert refused.status_code == 422 and instance(web, number).status == "running"

    assert (
        manager.post(f"/manage/cases/{case_id}/suspend", data={"reason": "客户要求暂缓"}).status_code == 302
    )
    assert instance(web, number).status == "suspended"
    assert manager.post(f"/manage/cases/{case_id}/resume", data={"reason": "客户确认继续"}).status_code == 302
    assert instance(web, number).status == "running"
    assert [e.data for e in audit(web, number, "instance_suspended")] == [{"reason": "客户要求暂缓"}]

    task = web.open_task(number, "task_dispatch")
    refused = manager.post(
        f"/manage/tasks/{task.id}/reassign", data={"assignee": "sup1", "reason": "", "instance_id": case_id}
    )
    assert refused.status_code == 422
    done = manager.post(
        f"/manage/tasks/{task.id}/reassign",
        data={"assignee": "sup1", "reason": "原负责人休假", "instance_id": case_id},
    )
    assert done.status_code == 302
    assert web.open_task(number, "task_dispatch").assignee == "sup1"
    (note,) = audit(web, number, "task_reassign_reason")
    assert note.data == {"reason": "原负责人休假", "assignee": "sup1"}
    assert audit(web, number, "task_assigned")

    assert manager.post(f"/manage/cases/{case_id}/terminate", data={"reason": "客户撤销"}).status_code == 302
    assert instance(web, number).status == "terminated"
    assert [e.data for e in audit(web, number, "instance_terminated")] == [{"reason": "客户撤销"}]
    again = manager.post(f"/manage/cases/{case_id}/resume", data={"reason": "再试"})
    assert again.status_code == 409


def test_a_case_in_error_shows_the_error_and_is_retried_with_a_reason(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    web.freeze(NOW)
    services = web.engine.script_engine.services

    def outage(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("产品档案服务不可用")

    real = services["record_service_history"]
    monkeypatch.setitem(services, "record_service_history", outage)
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "yes"}, CS)
    ratings = {
        k: "satisfied"
        for k in ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
    }
    web.engine.complete(web.open_task(number, "task_follow_up").id, ratings, CS)
    row = instance(web, number)
    assert row.status == "error"
    manager = web.client("sup1")
    page = manager.get(f"/manage/cases/{row.id}")
    assert 'id="case-error"' in page.text and "产品档案服务不可用" in page.text
    assert (row.error_element or "") in page.text
    assert manager.post(f"/manage/cases/{row.id}/retry", data={"reason": ""}).status_code == 422
    monkeypatch.setitem(services, "record_service_history", real)
    assert manager.post(f"/manage/cases/{row.id}/retry", data={"reason": "档案服务已恢复"}).status_code == 302
    assert instance(web, number).status == "completed"
    (retried,) = audit(web, number, "instance_retried")
    assert retried.data is not None and retried.data["reason"] == "档案服务已恢复"


def test_the_process_view_counts_cases_per_step(web: Web, cases: dict[str, str]) -> None:
    definition_id = instance(web, cases["dispatch"]).definition_id
    page = web.client("sup1").get(f"/manage/processes/{definition_id}")
    assert page.status_code == 200
    counts = json.loads(re.search(r"data-counts='([^']*)'", page.text).group(1))  # type: ignore[union-attr]
    assert counts["task_dispatch"] == {"now": 1, "passed": 0}
    assert counts["task_remote_guidance"] == {"now": 31, "passed": 1}  # the late case and the 30 seeded ones
    assert counts["timer_response_late"]["passed"] == 1


def test_the_kpi_dashboard_and_the_complaint_statistics_answer(web: Web, cases: dict[str, str]) -> None:
    manager = web.client("sup1")
    page = manager.get("/manage/kpis")
    assert page.status_code == 200
    data = json.loads(html.unescape(re.search(r'data-charts="([^"]*)"', page.text).group(1)))  # type: ignore[union-attr]
    assert set(data["kpis"]) == {"timeliness", "satisfaction", "complaint_rate", "closure"}
    assert data["targets"]["timeliness"] == 95.0
    assert 'href="/manage/cases?breached=open"' in page.text
    stats = manager.get("/manage/complaints", query_string={"month": "2026-02"})
    assert stats.status_code == 200 and "2026-02" in stats.text
    workbook = manager.get("/manage/complaints", query_string={"month": "2026-02", "format": "xlsx"})
    assert load_workbook(io.BytesIO(workbook.data)).active is not None
    # On the 1st the statistics are of the previous month.
    clock.freeze(NOW.replace(day=1))
    assert "2026-02" in manager.get("/manage/complaints").text
    with web.engine.sessions() as session:
        assert session.scalar(select(Task.id).limit(1)) is not None


def _open_breaches(page: str) -> int:
    found = re.search(r'id="kpi-open_breaches".*?<span class="kpi-value">(\d+)</span>', page, re.S)
    assert found is not None
    return int(found.group(1))


def test_the_kpi_dashboard_follows_each_change_to_a_case(web: Web, cases: dict[str, str]) -> None:
    manager = web.client("sup1")
    assert _open_breaches(manager.get("/manage/kpis").text) == 1  # the late emergency repair
    clock.advance(timedelta(hours=1))
    late = instance(web, cases["late"]).id
    assert manager.post(f"/manage/cases/{late}/suspend", data={"reason": "等待配件"}).status_code == 302
    assert _open_breaches(manager.get("/manage/kpis").text) == 1  # suspended: not ended, still open
    assert manager.post(f"/manage/cases/{late}/terminate", data={"reason": "客户撤销"}).status_code == 302
    assert _open_breaches(manager.get("/manage/kpis").text) == 0


def test_the_figures_name_processes_departments_and_criteria_as_the_forms_do(
    web: Web, cases: dict[str, str]
) -> None:
    manager = web.client("sup1")
    page = manager.get("/manage/kpis").text
    by_process = page[page.index('id="kpi-by-process"') :]
    assert "<th>维修服务</th>" in by_process and "<th>repair_service</th>" not in by_process
    assert "<th>售后服务部</th>" in page[page.index('id="kpi-by-department"') :]
    criteria = page[page.index('id="kpi-criteria-table"') :]
    assert "<th>服务态度</th>" in criteria and "rating_attitude</th>" not in criteria
    data = json.loads(html.unescape(re.search(r'data-charts="([^"]*)"', page).group(1)))  # type: ignore[union-attr]
    assert data["criteria_labels"]["rating_arrival_time"] == "到达时间"
    # The department's open-breach count leads to exactly the case behind it.
    row = re.search(r"<th>售后服务部</th>.*?</tr>", page[page.index('id="kpi-by-department"') :], re.S)
    assert row is not None
    link = re.search(r'<a href="([^"]*breached=open[^"]*)">1</a>', row.group(0))
    assert link is not None and "department=after_sales" in link.group(1)
    behind = manager.get(link.group(1).replace("&amp;", "&")).text
    assert case_numbers(behind) == [cases["late"]]
    assert "售后服务部" in behind[behind.index('id="case-department"') :]
    manager.post("/language", data={"lang": "en"})
    english = manager.get("/manage/kpis").text
    assert "<th>After-sales service</th>" in english[english.index('id="kpi-by-department"') :]
    assert "<th>Attitude</th>" in english[english.index('id="kpi-criteria-table"') :]


def test_the_complaint_statistics_count_the_complaints_closed_in_the_month_with_the_ratio(web: Web) -> None:
    """ "每月10日前汇总上月份结案的案件…责任归属确认及比率" [001 6]: closed ones, not received ones."""
    web.freeze(NOW)
    sales = Actor("sales1", frozenset({"sales"}))
    closed = web.engine.start("complaint", COMPLAINT_RECEIVED, sales).business_number
    web.engine.start("complaint", COMPLAINT_RECEIVED, sales)  # received in March, still open
    assert closed is not None
    close_complaint(web, closed)
    manager = web.client("sup1")
    page = manager.get("/manage/complaints", query_string={"month": "2026-03"}).text
    table = page[page.index('id="complaint-statistics"') :]
    assert "<th>返修产品存在质量问题</th>" in table and "repair_quality" not in page
    assert "尚未判定" not in table  # the open complaint is not in the month's statistics
    totals = page[page.index('id="complaint-totals"') :]
    assert "本月结案: 1" in totals
    ratio = page[page.index('id="complaint-responsibility"') :]
    assert "<td>1</td><td>100.0 %</td>" in ratio
    workbook = manager.get("/manage/complaints", query_string={"month": "2026-03", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [row[2:5] for row in rows if row[0] == "返修产品存在质量问题"] == [[1, 1, 0]]
    header = next(i for i, row in enumerate(rows) if list(row[:3]) == ["责任部门", "案件", "责任比率"])
    assert list(rows[header + 1][1:3]) == [1, 1]
    manager.post("/language", data={"lang": "en"})
    english = manager.get("/manage/complaints", query_string={"month": "2026-03"}).text
    cases_table = english[english.index('id="complaint-cases"') :]
    assert "<td>Quality problem of the repaired product</td>" in cases_table
    assert "Not decided yet" not in cases_table


def test_statuses_and_linked_cases_read_in_the_users_language(web: Web, cases: dict[str, str]) -> None:
    repair = instance(web, cases["dispatch"])
    complaint = web.engine.start(
        "complaint", COMPLAINT_RECEIVED, Actor("sales1", frozenset({"sales"})), parent_instance_id=repair.id
    )
    manager = web.client("sup1")
    listed = manager.get("/manage/cases", query_string={"status": "late"}).text
    assert '<span class="badge status-late">已超时</span>' in listed
    assert '<option value="late" selected>已超时</option>' in listed
    parent = manager.get(f"/manage/cases/{repair.id}").text
    linked = parent[parent.index('id="linked-cases"') :]
    assert f'引发案件 <a href="/manage/cases/{complaint.id}">' in linked
    assert "(顾客投诉处理, 运行中)" in linked
    child = manager.get(f"/manage/cases/{complaint.id}").text
    assert f'来源案件 <a href="/manage/cases/{repair.id}">{cases["dispatch"]}</a>' in child
