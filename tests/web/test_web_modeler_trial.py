"""The trial run page and its API through the test client: owners only, answers checked by the
task's form, due times in the user's timezone, a replay naming where a changed draft differs,
and not one row written to real cases."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine.accounts.users import create_user
from engine.store.models import Event, Job, ProcessInstance, Task
from processes.demo.users import DEMO_PASSWORD
from processes.roles import ROLE_KEYS
from tests.web.conftest import REPAIR_REQUEST, Web

TRIAL_URLS = (
    ("get", "/modeler/repair_service/trial"),
    ("get", "/modeler/api/repair_service/trial/cases"),
    ("get", "/modeler/api/repair_service/trial/cases/1"),
    ("post", "/modeler/api/repair_service/trial"),
    ("post", "/modeler/api/repair_service/replay"),
)


@pytest.fixture
def owners(web: Web) -> Web:
    with web.engine.writer.begin() as session:
        create_user(session, "owner1", DEMO_PASSWORD, ["process_owner"], ROLE_KEYS, "蒋流程")
    return web


def _rows(web: Web) -> tuple[int, ...]:
    with web.engine.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (ProcessInstance, Task, Job, Event)
        )


@pytest.mark.parametrize("user", ["cs1", "sup1", "tech1"])
def test_only_process_owners_may_use_the_trial_run(owners: Web, user: str) -> None:
    client = owners.client(user)
    for method, url in TRIAL_URLS:
        response = getattr(client, method)(url, json={"files": {}, "case": 1})
        assert response.status_code == 403, (method, url, response.status_code)


def test_the_trial_page_is_linked_from_the_editor_in_both_languages(owners: Web) -> None:
    client = owners.client("owner1")
    editor = client.get("/modeler/repair_service/edit").text
    assert 'href="/modeler/repair_service/trial"' in editor and "试运行" in editor
    page = client.get("/modeler/repair_service/trial")
    assert page.status_code == 200
    assert "试运行" in page.text and "modeler/trial.js" in page.text and "<script>" not in page.text
    client.post("/language", data={"lang": "en"})
    assert "Trial run of" in client.get("/modeler/repair_service/trial").text


def test_a_trial_through_the_api_asks_answers_by_form_and_writes_nothing(owners: Web) -> None:
    client = owners.client("owner1")
    files = client.get("/modeler/api/repair_service/files").json["files"]
    before = _rows(owners)
    plan = {"files": files, "start_at": "2026-11-27T16:00", "data": REPAIR_REQUEST, "default_minutes": 10}

    first = client.post("/modeler/api/repair_service/trial", json={**plan, "steps": []}).json
    assert first["ok"], first
    assert "serial_number" in {f["key"] for f in first["trial"]["start_fields"]}, (
        "the start form is asked for"
    )
    (guidance,) = first["trial"]["open_tasks"]
    assert guidance["element"] == "task_remote_guidance"
    assert "solved_by_phone" in {f["key"] for f in guidance["fields"]}
    assert datetime.fromisoformat(guidance["due"]["iso"]) > datetime.fromisoformat(
        "2026-11-27T08:00:00+00:00"
    )

    wrong = [{"element": "task_remote_guidance", "data": {"solved_by_phone": "maybe"}}]
    refused = client.post("/modeler/api/repair_service/trial", json={**plan, "steps": wrong}).json["trial"]
    assert refused["refused"]["element"] == "task_remote_guidance"
    assert refused["refused"]["errors"]["solved_by_phone"], "the field's error is worded"

    right = [{"element": "task_remote_guidance", "data": {"solved_by_phone": "no"}, "minutes": 15}]
    moved = client.post("/modeler/api/repair_service/trial", json={**plan, "steps": right}).json["trial"]
    assert [t["element"] for t in moved["open_tasks"]] == ["task_dispatch"]
    assert moved["clock"]["text"] == "2026-11-27 16:15"
    assert "task_remote_guidance" in moved["path"]
    assert _rows(owners) == before


def test_a_draft_with_problems_is_refused_with_them(owners: Web) -> None:
    client = owners.client("owner1")
    files = client.get("/modeler/api/repair_service/files").json["files"]
    files["repair_service.bpmn"] = files["repair_service.bpmn"].replace(
        "solved_by_phone == 'yes'</bpmn:conditionExpression>", "solved_by_phone ==</bpmn:conditionExpression>"
    )
    answer = client.post(
        "/modeler/api/repair_service/trial", json={"files": files, "start_at": "2026-11-27T16:00", "data": {}}
    )
    assert answer.status_code == 422 and answer.json["problems"]


def test_a_replay_on_the_changed_draft_names_the_step_where_it_differs(owners: Web) -> None:
    number, _arrival = owners.repair_at_arrival()
    client = owners.client("owner1")
    cases = client.get("/modeler/api/repair_service/trial/cases").json["cases"]
    (case,) = [c for c in cases if c["business_number"] == number]
    sample = client.get(f"/modeler/api/repair_service/trial/cases/{case['id']}").json
    assert sample["data"]["serial_number"] == REPAIR_REQUEST["serial_number"]
    files = client.get("/modeler/api/repair_service/files").json["files"]
    files["repair_service.bpmn"] = files["repair_service.bpmn"].replace(
        "solved_by_phone == 'yes'</bpmn:conditionExpression>",
        "solved_by_phone == 'no'</bpmn:conditionExpression>",
    )
    before = _rows(owners)
    answer = client.post("/modeler/api/repair_service/replay", json={"files": files, "case": case["id"]}).json
    assert answer["ok"], answer
    difference = answer["replay"]["difference"]
    assert difference["after"] == "task_remote_guidance" and difference["recorded"] == "task_dispatch"
    assert difference["after_name"] == "电话指导"
    assert _rows(owners) == before
