"""The repair process through the web: start form, inbox, task form, claims, drafts, conflicts."""

from __future__ import annotations

import re

from engine.errors import ConcurrentModification

REMOTE_GUIDANCE = "电话指导"
DISPATCH = "派工"


def test_start_list_and_form_show_the_repair_process(web) -> None:
    client = web.client("cs1")
    listing = client.get("/start")
    assert '<a href="/start/repair_service">维修服务</a>' in listing.text
    form = client.get("/start/repair_service")
    assert form.status_code == 200
    assert "<h2>报修登记</h2>" in form.text
    channel = web.field_block(form.text, "channel")
    assert '<option value="phone" selected>电话</option>' in channel  # the form's default
    urgency = web.field_block(form.text, "urgency")
    assert re.search(r'value="normal"\s+checked', urgency)
    assert '<span class="req">*</span>' in web.field_block(form.text, "customer_name")
    assert '<span class="req">*</span>' not in web.field_block(form.text, "customer_address")


def test_start_forbidden_and_unknown_processes(web) -> None:
    tech = web.client("tech1")
    assert "维修服务" not in tech.get("/start").text
    assert tech.get("/start/repair_service").status_code == 403
    assert tech.post("/start/repair_service", data=web.request).status_code == 403
    assert web.client("cs1").get("/start/no_such_process").status_code == 404


def test_starting_a_case_offers_its_first_task_to_customer_service(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    assert re.fullmatch(r"RO-\d{8}-\d{4}", number)
    (row,) = web.rows(cs1, "offered")
    assert row.business_number == number
    assert row.step == REMOTE_GUIDANCE
    assert row.customer == "华东精密机械有限公司"
    assert row.cells[1] == "维修服务"
    assert row.cells[5] == "一般"  # the urgency as the start form names it, not "normal"
    assert web.rows(cs1, "mine") == []
    assert web.rows(cs1, "done") == []
    # Other roles do not see it.
    assert web.rows(web.client("sup1"), "offered") == []
    assert web.rows(web.client("tech1"), "offered") == []


def test_start_form_required_field_left_empty(web) -> None:
    cs1 = web.client("cs1")
    response = cs1.post("/start/repair_service", data={**web.request, "customer_name": "  "})
    assert response.status_code == 422
    assert "表单有错误，请检查标出的字段。" in web.flashes(response.text)
    block = web.field_block(response.text, "customer_name")
    assert 'class="field has-error"' in block
    assert re.search(r'<p class="error" id="field-customer_name-error">[^<]+</p>', block)
    # Only that field is marked, and what the user typed is kept.
    assert 'id="field-customer_phone-error"' not in response.text
    assert 'value="021-5555-0101"' in web.field_block(response.text, "customer_phone")
    assert "主轴异响，无法启动。</textarea>" in web.field_block(response.text, "fault_description")
    assert '<option value="urban" selected>' in web.field_block(response.text, "distance_band")
    assert re.search(r'value="true"\s+checked', web.field_block(response.text, "contract_in_force"))
    assert web.rows(cs1, "offered") == []  # no case was started


def test_start_form_wrong_option_value(web) -> None:
    cs1 = web.client("cs1")
    response = cs1.post("/start/repair_service", data={**web.request, "distance_band": "moon"})
    assert response.status_code == 422
    block = web.field_block(response.text, "distance_band")
    assert re.search(r'<p class="error" id="field-distance_band-error">[^<]+</p>', block)
    assert web.rows(cs1, "offered") == []


def test_task_page_shows_the_case_and_the_form(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    page = cs1.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert f"{number} · 维修服务 v1" in page.text
    assert f"<h1>{REMOTE_GUIDANCE}</h1>" in page.text
    assert "<dd>华东精密机械有限公司</dd>" in page.text
    assert 'id="claim"' in page.text
    history = page.text[page.text.index('<ol class="history">') :]
    assert f"生成任务 {REMOTE_GUIDANCE}" in history  # events and steps by name, not by code or element id
    assert "task_remote_guidance" not in history
    block = web.field_block(page.text, "solved_by_phone")
    assert "电话指导已解决" in block
    assert 'value="yes"' in block and 'value="no"' in block


def test_task_required_field_left_empty(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    response = cs1.post(f"/tasks/{task_id}", data={"action": "complete", "guidance_notes": "已指导重启"})
    assert response.status_code == 422
    block = web.field_block(response.text, "solved_by_phone")
    assert 'class="field has-error"' in block
    assert re.search(r'<p class="error" id="field-solved_by_phone-error">[^<]+</p>', block)
    assert 'role="radiogroup" aria-labelledby="field-solved_by_phone-label"' in block
    assert 'aria-invalid="true" aria-describedby="field-solved_by_phone-error"' in block
    assert block.count('class="error"') == 1
    assert "已指导重启</textarea>" in web.field_block(response.text, "guidance_notes")
    assert web.task_id(cs1, number, REMOTE_GUIDANCE) == task_id  # still open
    assert web.rows(cs1, "done") == []


def test_task_wrong_option_value(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    response = cs1.post(f"/tasks/{task_id}", data={"action": "complete", "solved_by_phone": "maybe"})
    assert response.status_code == 422
    block = web.field_block(response.text, "solved_by_phone")
    assert re.search(r'<p class="error" id="field-solved_by_phone-error">[^<]+</p>', block)
    assert "checked" not in block
    assert web.rows(cs1, "done") == []


def complete_remote_guidance(web, client, task_id: str, solved: str = "no"):
    return client.post(
        f"/tasks/{task_id}",
        data={"action": "complete", "solved_by_phone": solved, "guidance_notes": "远程指导无效"},
    )


def test_completing_moves_the_task_to_done_and_offers_dispatch_to_the_supervisor(web) -> None:
    cs1, sup1 = web.client("cs1"), web.client("sup1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)

    response = complete_remote_guidance(web, cs1, task_id)
    assert response.status_code == 302
    assert response.location == "/"
    inbox = cs1.get("/").text
    assert f"{number} 的「{REMOTE_GUIDANCE}」已完成。" in web.flashes(inbox)

    done = web.rows(cs1, "done")
    assert [(r.task_id, r.business_number, r.step) for r in done] == [(task_id, number, REMOTE_GUIDANCE)]
    assert web.rows(cs1, "offered") == []
    assert web.rows(cs1, "mine") == []

    (dispatch,) = web.rows(sup1, "offered")
    assert (dispatch.business_number, dispatch.step) == (number, DISPATCH)
    # The supervisor's task is not customer service's business.
    assert cs1.get(f"/tasks/{dispatch.task_id}").status_code == 403
    dispatch_page = sup1.get(f"/tasks/{dispatch.task_id}").text
    technicians = web.field_block(dispatch_page, "technician")
    assert '<option value="tech1"' in technicians and '<option value="tech2"' in technicians

    # The completed task still opens for the one who did it, read-only.
    page = cs1.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert "已由 cs1 完成" in page.text
    assert 'id="task-form"' not in page.text


def test_solved_by_phone_offers_the_follow_up_to_customer_service(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    complete_remote_guidance(web, cs1, web.task_id(cs1, number, REMOTE_GUIDANCE), solved="yes")
    assert [r.step for r in web.rows(cs1, "offered")] == ["回访"]
    assert web.rows(web.client("sup1"), "offered") == []


def test_technician_gets_403_on_a_customer_service_task(web) -> None:
    cs1, tech1 = web.client("cs1"), web.client("tech1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    for response in (
        tech1.get(f"/tasks/{task_id}"),
        complete_remote_guidance(web, tech1, task_id),
        tech1.post(f"/tasks/{task_id}", data={"action": "draft", "guidance_notes": "x"}),
        tech1.post(f"/tasks/{task_id}/claim"),
        tech1.post(f"/tasks/{task_id}/unclaim"),
    ):
        assert response.status_code == 403
        assert "<h1>403</h1>" in response.text
        assert "您无权访问此页面。" in response.text
        assert "Traceback" not in response.text
        assert "华东精密机械有限公司" not in response.text  # nothing of the case leaks
    # Nothing happened to the task.
    assert web.task_id(cs1, number, REMOTE_GUIDANCE) == task_id
    assert web.rows(tech1, "done") == []


def test_unknown_task_is_404(web) -> None:
    response = web.client("cs1").get("/tasks/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "页面不存在。" in response.text


def test_second_user_completing_a_completed_task_gets_409_naming_who_did_it(web) -> None:
    cs1, cs2 = web.client("cs1"), web.client("cs2")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    assert cs2.get(f"/tasks/{task_id}").status_code == 200  # both had the form open

    assert complete_remote_guidance(web, cs1, task_id).status_code == 302
    late = complete_remote_guidance(web, cs2, task_id, solved="yes")
    assert late.status_code == 409
    assert "此任务已由 cs1 完成。" in web.flashes(late.text)
    assert 'id="task-form"' not in late.text
    assert web.rows(cs2, "done") == []
    assert [r.step for r in web.rows(web.client("sup1"), "offered")] == [DISPATCH]  # cs1's answer stands


def test_claim_and_unclaim(web) -> None:
    cs1, cs2 = web.client("cs1"), web.client("cs2")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)

    response = cs1.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 302
    assert response.location == f"/tasks/{task_id}"
    page = cs1.get(response.location).text
    assert "任务已由您认领。" in web.flashes(page)
    assert re.search(r'<dd id="assignee">王客服\s*<form', page)
    assert 'id="unclaim"' in page and 'id="claim"' not in page
    assert [r.task_id for r in web.rows(cs1, "mine")] == [task_id]
    assert web.rows(cs1, "offered") == []
    assert web.rows(cs2, "offered") == []  # claimed tasks leave the role's list

    # Another holder of the role can neither take it nor complete it.
    taken = cs2.post(f"/tasks/{task_id}/claim")
    assert "此任务已分配给 王客服。" in web.flashes(cs2.get(taken.location).text)
    refused = complete_remote_guidance(web, cs2, task_id)
    assert refused.status_code == 409
    assert "此任务已分配给 王客服。" in web.flashes(refused.text)
    assert 'id="unclaim"' not in refused.text and 'id="claim"' not in refused.text

    response = cs1.post(f"/tasks/{task_id}/unclaim")
    assert response.status_code == 302
    assert "任务已退回角色待办。" in web.flashes(cs1.get("/").text)
    assert web.rows(cs1, "mine") == []
    assert [r.task_id for r in web.rows(cs2, "offered")] == [task_id]


def test_claim_from_the_inbox_does_not_redirect_elsewhere(web) -> None:
    cs1 = web.client("cs1")
    task_id = web.task_id(cs1, web.start_repair(cs1), REMOTE_GUIDANCE)
    response = cs1.post(f"/tasks/{task_id}/claim", data={"next": "https://evil.example/"})
    assert response.location == f"/tasks/{task_id}"


def test_save_draft_keeps_the_values_and_the_task_open(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    response = cs1.post(
        f"/tasks/{task_id}",
        data={"action": "draft", "solved_by_phone": "no", "guidance_notes": "客户稍后回电"},
    )
    assert response.status_code == 302
    assert response.location == f"/tasks/{task_id}"
    page = cs1.get(response.location).text
    assert "草稿已保存。" in web.flashes(page)
    assert re.search(r'value="no"\s+checked', web.field_block(page, "solved_by_phone"))
    assert "客户稍后回电</textarea>" in web.field_block(page, "guidance_notes")
    # A draft is not a completion; a second visit still shows it.
    assert web.task_id(cs1, number, REMOTE_GUIDANCE) == task_id
    assert web.rows(cs1, "done") == []
    assert "客户稍后回电</textarea>" in cs1.get(f"/tasks/{task_id}").text


def test_task_page_in_english(web) -> None:
    cs1 = web.client("cs1")
    task_id = web.task_id(cs1, web.start_repair(cs1), REMOTE_GUIDANCE)
    cs1.post("/language", data={"lang": "en"})
    page = cs1.get(f"/tasks/{task_id}").text
    assert "<h2>Phone guidance</h2>" in page
    block = web.field_block(page, "solved_by_phone")
    assert "Solved by phone guidance" in block
    assert "> Yes</label>" in block and "> No</label>" in block
    assert ">Complete</button>" in page and ">Save draft</button>" in page
    (row,) = web.rows(cs1, "offered")
    assert row.cells[5] == "Normal"


def test_a_case_changed_meanwhile_is_a_409_not_a_crash(web, monkeypatch) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)

    def changed_meanwhile(*args, **kwargs):
        raise ConcurrentModification("the case was changed by someone else; reload and try again")

    monkeypatch.setattr(web.engine, "complete", changed_meanwhile)
    response = complete_remote_guidance(web, cs1, task_id)
    assert response.status_code == 409
    assert "操作未能完成。" in web.flashes(response.text)
    assert "远程指导无效</textarea>" in response.text  # the input is kept for another try
