"""The case page as managers and inspectors read it: header, stages, diagram, data by step, raw record."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from sqlalchemy import select

from engine import clock
from engine.accounts.users import Actor
from engine.runtime.runner import TimerRunner
from engine.store.models import ProcessInstance
from processes.records.models import Customer
from tests.web.conftest import NOW, Seed, Web

CS = Actor("cs1", frozenset({"customer_service"}))
SUP = Actor("sup1", frozenset({"service_supervisor"}))


def case_page(web: Web, number: str, user: str = "sup1") -> str:
    with web.engine.sessions() as session:
        found = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_number == number))
    response = web.client(user).get(f"/manage/cases/{found}")
    assert response.status_code == 200
    return response.text


def stages(page: str) -> dict[str, str]:
    """Stage key -> the stage's item as shown."""
    line = page.split('id="case-stages"')[1].split("</ol>")[0]
    return {key: body for key, body in re.findall(r'data-stage="([a-z_]+)"[^>]*>(.*?)</li>', line, re.S)}


def stage_state(item_html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item_html)).strip()


def test_the_header_names_the_case_its_customer_product_status_and_sla_state(web: Web) -> None:
    web.freeze(NOW)
    with web.engine.writer.begin() as session:
        session.add(Customer(name="华东精密机械有限公司", created_at=clock.now()))
    number = web.start_repair(web.client("cs1"))
    page = case_page(web, number)
    header = page.split('id="case-header"')[1].split("</header>")[0]
    assert number in header and "维修服务" in header
    assert "华东精密机械有限公司" in header and 'href="/customers/' in header  # the customer's archive page
    assert "HX-200 数控机床" in header
    assert re.search(r'id="case-status">运行中<', header)
    assert re.search(r'class="badge sla-today" id="case-sla">今日到期<', header)  # due at 14:00
    clock.advance(timedelta(days=3))
    TimerRunner(web.engine, name="test").run_once()
    late = case_page(web, number).split('id="case-header"')[1].split("</header>")[0]
    assert re.search(r'class="badge sla-breached" id="case-sla">已超时<', late)


def test_the_repair_stages_show_who_did_what_and_when(web: Web) -> None:
    web.freeze(NOW)
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    line = stages(case_page(web, number))
    assert list(line) == ["request", "dispatch", "repair", "acceptance", "follow_up"]
    assert "报修" in line["request"] and "已完成" in line["request"] and "王客服" in line["request"]
    assert "<time" in line["request"]
    assert "派工" in line["dispatch"] and "办理中" in stage_state(line["dispatch"])
    assert "未到" in stage_state(line["repair"])
    web.engine.complete(web.open_task(number, "task_dispatch").id, {"technician": "tech1"}, SUP)
    line = stages(case_page(web, number))
    assert "已完成" in line["dispatch"] and "李主任" in line["dispatch"]
    assert "办理中" in line["repair"] and "张工" in line["repair"]  # the technician at work
    assert "tech1" not in "".join(line.values()) and "sup1" not in "".join(line.values())


def test_each_process_has_its_own_stages(web: Web) -> None:
    web.seed(
        Seed("CP-20260301-0001", process="complaint", step=("task_investigation", "调查报告"), role="quality")
    )
    line = stages(case_page(web, "CP-20260301-0001"))
    assert list(line) == ["received", "screening", "investigation", "handling", "reply", "closure"]
    assert "办理中" in line["investigation"]
    assert "不需要" in stage_state(line["screening"])  # passed over: the case is beyond it


def test_the_diagram_fits_the_width_and_the_data_reads_by_step_with_labels(web: Web) -> None:
    number = web.start_repair(web.client("cs1"))
    web.engine.complete(web.open_task(number, "task_remote_guidance").id, {"solved_by_phone": "no"}, CS)
    page = case_page(web, number)
    assert 'class="oversight-diagram fit-width"' in page
    data = page.split('id="case-data"')[1].split('id="operations"')[0]
    groups = re.findall(r'<article class="entered-step" data-element="([^"]*)">', data)
    assert groups[:2] == ["", "task_remote_guidance"]  # the registration, then phone guidance
    registration = data.split("</article>")[0]
    assert "<th>客户名称</th><td>华东精密机械有限公司</td>" in registration
    assert "王客服" in registration
    assert "customer_name" not in data and "solved_by_phone" not in data  # labels, not variable names
    raw = page.split('id="raw-record"')[1].split("</details>")[0]
    stored = json.loads(html.unescape(raw.split("<pre>")[1].split("</pre>")[0]))
    assert stored["solved_by_phone"] == "no" and stored["customer_name"] == "华东精密机械有限公司"


def test_manage_lands_on_the_case_list(web: Web) -> None:
    client = web.client("sup1")
    for path in ("/manage", "/manage/"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/manage/cases")
    assert web.client("cs1").get("/manage").status_code == 403
