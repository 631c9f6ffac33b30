"""The task page: case summary, readable history, diagram markers; claims and supervisors' assignments."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.store.models import Event

REMOTE_GUIDANCE = "电话指导"


def section(html: str, heading_id: str) -> str:
    """The HTML of the section labelled by the heading with this id."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, flags=re.DOTALL)
    assert match, f"no section {heading_id}"
    return match.group(0)


def summary(html: str) -> dict[str, str]:
    """The case summary as term -> description (tags dropped)."""
    block = section(html, "summary-heading")
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block, flags=re.DOTALL)
    return {dt: " ".join(re.sub(r"<[^>]+>", " ", dd).split()) for dt, dd in pairs}


def test_the_case_summary_names_customer_product_urgency_number_version_and_status(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1, urgency="emergency")
    page = cs1.get(f"/tasks/{web.task_id(cs1, number, REMOTE_GUIDANCE)}").text
    facts = summary(page)
    assert facts["业务编号"] == number
    assert facts["流程"] == "维修服务 第 1 版"
    assert facts["案件状态"] == "办理中"
    assert facts["客户"] == "华东精密机械有限公司"
    assert facts["产品"] == "HX-200 数控机床"
    assert facts["紧急程度"] == "紧急"
    assert facts["当前环节"] == REMOTE_GUIDANCE
    assert facts["办理人"].startswith("未认领")

    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    cs1.post("/language", data={"lang": "en"})
    english = summary(cs1.get(f"/tasks/{task_id}").text)
    assert english["Urgency"] == "Emergency"
    assert english["Case status"] == "in progress"
    assert english["Process"] == "Repair service version 1"
    assert english["Current step"] == "Phone guidance"


def test_history_shows_who_did_what_when_with_the_data_entered(web) -> None:
    cs1, sup1 = web.client("cs1"), web.client("sup1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    cs1.post(
        f"/tasks/{task_id}",
        data={"action": "complete", "solved_by_phone": "no", "guidance_notes": "重启无效"},
    )
    (dispatch,) = web.rows(sup1, "offered")
    history = section(sup1.get(f"/tasks/{dispatch.task_id}").text, "history-heading")
    # Who (by name), what (event and step by name), when, and the answers with the form's labels.
    assert re.search(
        r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d</time> <b>王客服</b> 完成 电话指导", history
    )
    assert "<dt>电话指导已解决</dt><dd>否</dd>" in history
    assert "<dt>指导记录 / 解决办法</dt><dd>重启无效</dd>" in history
    assert "<dt>客户名称</dt><dd>华东精密机械有限公司</dd>" in history  # the start form
    assert "<dt>维保合同有效</dt><dd>是</dd>" in history
    assert "<dt>紧急程度</dt><dd>一般</dd>" in history  # option labels, not codes
    assert "solved_by_phone" not in history and "normal" not in history

    sup1.post("/language", data={"lang": "en"})
    english = section(sup1.get(f"/tasks/{dispatch.task_id}").text, "history-heading")
    assert "<dt>Solved by phone guidance</dt><dd>No</dd>" in english


def test_the_diagram_marks_the_current_and_the_completed_steps(web) -> None:
    number, arrival = web.repair_at_arrival()
    tech1 = web.client("tech1")
    page = tech1.get(f"/tasks/{arrival.id}").text
    diagram = re.search(r'<div id="diagram"[^>]*>', page, flags=re.DOTALL).group(0)
    assert f'data-bpmn-url="/tasks/{arrival.id}/diagram.bpmn?lang=zh"' in diagram
    assert 'data-current="task_arrival"' in diagram
    assert 'data-done="task_dispatch task_remote_guidance"' in diagram
    assert '<script src="/static/vendor/bpmn-viewer.production.min.js" defer></script>' in page

    xml = tech1.get(f"/tasks/{arrival.id}/diagram.bpmn")
    assert xml.status_code == 200
    assert xml.mimetype == "application/xml"
    assert '<bpmn:process id="repair_service"' in xml.text
    assert 'id="task_arrival"' in xml.text
    assert web.client("cs2").get(f"/tasks/{arrival.id}/diagram.bpmn").status_code == 403
    assert number


def test_a_supervisor_assigns_a_task_to_a_named_holder_of_its_role_and_it_is_audited(web) -> None:
    number, arrival = web.repair_at_arrival("tech1")
    sup1, tech1, tech2 = web.client("sup1"), web.client("tech1"), web.client("tech2")
    assert [r.business_number for r in web.rows(tech1, "mine")] == [number]
    assert web.rows(tech2, "mine") == []

    page = sup1.get(f"/tasks/{arrival.id}").text  # supervisors see every task, to hand work out
    choices = re.search(
        r'<select id="assign-to" name="assignee" required>.*?</select>', page, re.DOTALL
    ).group(0)
    assert re.findall(r'<option value="(\w+)"', choices) == ["tech1", "tech2"]  # the technicians, nobody else
    assert '<option value="tech1" selected>张工</option>' in choices  # people by name, never by user name
    assert 'id="task-form"' not in page  # a supervisor assigns a technician's task but does not fill it in

    response = sup1.post(f"/tasks/{arrival.id}/assign", data={"assignee": "tech2"})
    assert response.status_code == 302
    assert "任务已分配给 赵工。" in web.flashes(sup1.get(response.location).text)
    assert web.rows(tech1, "mine") == []
    assert [r.business_number for r in web.rows(tech2, "mine")] == [number]
    assert tech1.post(f"/tasks/{arrival.id}", data={"action": "complete"}).status_code == 409

    with web.engine.sessions() as session:
        event = session.scalar(
            select(Event).where(Event.task_id == arrival.id, Event.action == "task_assigned")
        )
        assert event is not None and event.actor == "sup1"
        assert event.data == {"assignee": "tech2", "previous": "tech1"}
    history = section(tech2.get(f"/tasks/{arrival.id}").text, "history-heading")
    assert re.search(r"<b>李主任</b> 分配 到达现场 <span class=\"note\">给 赵工 \(tech2\)</span>", history)


def test_assigning_is_for_supervisors_and_only_to_holders_of_the_role(web) -> None:
    number, arrival = web.repair_at_arrival("tech1")
    tech1, sup1 = web.client("tech1"), web.client("sup1")
    assert 'id="assign-form"' not in tech1.get(f"/tasks/{arrival.id}").text
    refused = tech1.post(f"/tasks/{arrival.id}/assign", data={"assignee": "tech1"})
    assert refused.status_code == 403 and "您无权访问此页面。" in refused.text

    wrong = sup1.post(f"/tasks/{arrival.id}/assign", data={"assignee": "cs1"})
    assert "cs1 不具备此任务所需的角色。" in web.flashes(sup1.get(wrong.location).text)
    nobody = sup1.post(f"/tasks/{arrival.id}/assign", data={"assignee": ""})
    assert "— 不具备此任务所需的角色。" in web.flashes(sup1.get(nobody.location).text)
    assert [r.business_number for r in web.rows(tech1, "mine")] == [number]  # unchanged


def test_a_supervisor_can_give_a_claimed_task_back_to_the_role(web) -> None:
    number, arrival = web.repair_at_arrival("tech1")
    sup1, tech2 = web.client("sup1"), web.client("tech2")
    assert 'id="unclaim"' in sup1.get(f"/tasks/{arrival.id}").text
    sup1.post(f"/tasks/{arrival.id}/unclaim")
    assert [r.business_number for r in web.rows(tech2, "offered")] == [number]
    history = section(tech2.get(f"/tasks/{arrival.id}").text, "history-heading")
    assert "退回" in history and "（原为 张工 (tech1)）" in history


def test_a_task_of_someone_else_shows_no_form_but_says_whose_it_is(web) -> None:
    cs1, cs2 = web.client("cs1"), web.client("cs2")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    cs1.post(f"/tasks/{task_id}/claim")
    page = cs2.get(f"/tasks/{task_id}").text
    assert 'id="task-form"' not in page
    assert "此任务已分配给 王客服。" in page
