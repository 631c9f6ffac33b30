"""A call-centre system drives a repair over /api/v1 with a token alone: start, claim, complete."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from engine import clock
from engine.accounts.access_tokens import AccessToken, revoke_token
from tests.web.api_client import Api
from tests.web.conftest import REPAIR_REQUEST, Web
from web.cli import main as cli_main


def _start(api: Api, token: str, **fields: str) -> dict:
    response = api.client.post(
        "/api/v1/cases",
        headers=api.headers(token),
        json={"process_key": "repair_service", "data": {**REPAIR_REQUEST, **fields}},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_cli_token_lists_the_users_tasks(api: Api, web: Web, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", api.engine.db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli_main, ["token", "create", "cs1", "--name", "call centre"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("afp_")
    with api.engine.sessions() as session:
        stored = session.scalar(select(AccessToken).where(AccessToken.name == "call centre"))
        assert stored is not None and secret not in (stored.token_hash, stored.shown)
    number = web.start_repair(web.client("cs1"))
    response = api.client.get("/api/v1/tasks?tab=offered", headers=api.headers(secret))
    assert response.status_code == 200
    assert [t["business_number"] for t in response.json["items"]] == [number]
    assert response.json["items"][0]["role"] == "customer_service"
    assert response.json["total"] == 1


def test_start_claim_and_complete_over_the_api_alone_and_the_page_shows_it(api: Api, web: Web) -> None:
    token = api.token("cs1")
    started = _start(api, token)
    assert started["business_number"].startswith("RO-") and started["status"] == "running"
    offered = api.client.get("/api/v1/tasks?tab=offered", headers=api.headers(token)).json["items"]
    (guidance,) = [t for t in offered if t["case_id"] == started["id"]]
    claimed = api.client.post(f"/api/v1/tasks/{guidance['id']}/claim", headers=api.headers(token))
    assert claimed.status_code == 200 and claimed.json["assignee"] == "cs1"
    mine = api.client.get("/api/v1/tasks", headers=api.headers(token)).json["items"]
    assert [t["id"] for t in mine] == [guidance["id"]]
    invalid = api.client.post(
        f"/api/v1/tasks/{guidance['id']}/complete",
        headers=api.headers(token, "en"),
        json={"data": {"solved_by_phone": "perhaps"}},
    )
    assert invalid.status_code == 422 and invalid.json["code"] == "form_invalid"
    assert "solved_by_phone" in invalid.json["errors"]
    assert invalid.json["message"] == "The form has errors; check the marked fields."
    done = api.client.post(
        f"/api/v1/tasks/{guidance['id']}/complete",
        headers=api.headers(token),
        json={"data": {"solved_by_phone": "no"}},
    )
    assert done.status_code == 200 and done.json["state"] == "completed"
    case = api.client.get(f"/api/v1/cases/{started['id']}", headers=api.headers(token)).json
    assert case["data"]["solved_by_phone"] == "no"
    assert [t["spec_id"] for t in case["tasks"] if t["state"] == "open"] == ["task_dispatch"]
    assert "task_completed" in [e["action"] for e in case["events"]]
    # The supervisor's inbox page shows the case waiting for dispatch.
    supervisor = web.client("sup1")
    assert started["business_number"] in [r.business_number for r in web.rows(supervisor, "offered")]
    again = api.client.post(
        f"/api/v1/tasks/{guidance['id']}/complete", headers=api.headers(token), json={"data": {}}
    )
    assert again.status_code == 409 and again.json["code"] == "already_completed"


def test_start_form_data_is_validated_as_on_the_page(api: Api, web: Web) -> None:
    token = api.token("cs1")
    response = api.client.post(
        "/api/v1/cases",
        headers=api.headers(token),
        json={"process_key": "repair_service", "data": {**REPAIR_REQUEST, "customer_phone": ""}},
    )
    page = web.client("cs1").post("/start/repair_service", data={**REPAIR_REQUEST, "customer_phone": ""})
    assert response.status_code == page.status_code == 422
    assert response.json["errors"]["customer_phone"] == ["此项为必填项。"]
    assert "此项为必填项。" in web.field_block(page.text, "customer_phone")


def test_draft_assign_and_unclaim(api: Api, web: Web) -> None:
    cs1, sup1 = api.token("cs1"), api.token("sup1")
    started = _start(api, cs1)
    task_id = web.open_task(started["business_number"], "task_remote_guidance").id
    draft = api.client.put(
        f"/api/v1/tasks/{task_id}/draft", headers=api.headers(cs1), json={"data": {"solved_by_phone": "no"}}
    )
    assert draft.status_code == 200
    assert web.open_task(started["business_number"], "task_remote_guidance").draft == {
        "solved_by_phone": "no"
    }
    refused = api.client.post(
        f"/api/v1/tasks/{task_id}/assign", headers=api.headers(cs1), json={"assignee": "cs2"}
    )
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    wrong = api.client.post(
        f"/api/v1/tasks/{task_id}/assign", headers=api.headers(sup1), json={"assignee": "tech1"}
    )
    assert wrong.status_code == 422 and wrong.json["code"] == "not_role_holder"
    assigned = api.client.post(
        f"/api/v1/tasks/{task_id}/assign", headers=api.headers(sup1), json={"assignee": "cs2"}
    )
    assert assigned.status_code == 200 and assigned.json["assignee"] == "cs2"
    taken = api.client.post(f"/api/v1/tasks/{task_id}/claim", headers=api.headers(cs1), json={})
    assert taken.status_code == 409 and taken.json["code"] == "task_not_available"
    back = api.client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=api.headers(sup1))
    assert back.status_code == 200 and back.json["assignee"] is None


def test_refused_tokens_and_cookies(api: Api, web: Web) -> None:
    token = api.token("cs1")
    assert api.client.get("/api/v1/tasks", headers=api.headers(token)).status_code == 200
    with api.engine.writer.begin() as session:
        row = session.scalar(select(AccessToken).order_by(AccessToken.id.desc()))
        revoke_token(session, row.id, "cs1")
    revoked = api.client.get("/api/v1/tasks", headers=api.headers(token))
    assert revoked.status_code == 401 and revoked.json["code"] == "unauthorized"
    assert revoked.json["message"] == "需要有效的访问令牌（Authorization: Bearer …）。"
    assert revoked.headers["WWW-Authenticate"].startswith("Bearer")

    expiring = api.token("cs1", days=1)
    assert api.client.get("/api/v1/tasks", headers=api.headers(expiring)).status_code == 200
    clock.freeze(clock.now() + timedelta(days=1, seconds=1))
    assert api.client.get("/api/v1/tasks", headers=api.headers(expiring)).status_code == 401
    clock.unfreeze()

    assert api.client.get("/api/v1/tasks", headers=api.headers("afp_made-up")).status_code == 401
    # A logged-in browser session is no key to the API, whatever the method.
    browser = web.client("cs1")
    assert browser.get("/api/v1/tasks").status_code == 401
    assert browser.post("/api/v1/cases", json={"process_key": "repair_service"}).status_code == 401


def test_read_scope_reads_but_changes_nothing(api: Api, web: Web) -> None:
    reader = api.token("cs1", scope="read")
    assert api.client.get("/api/v1/tasks", headers=api.headers(reader)).status_code == 200
    refused = api.client.post(
        "/api/v1/cases",
        headers=api.headers(reader, "en"),
        json={"process_key": "repair_service", "data": REPAIR_REQUEST},
    )
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
    assert "write scope" in refused.json["message"]
    with api.engine.sessions() as session:
        from engine.store.models import ProcessInstance

        started = select(ProcessInstance.id).where(ProcessInstance.process_key == "repair_service")
        assert session.scalar(started) is None


def test_errors_speak_the_callers_language(api: Api) -> None:
    token = api.token("cs1")
    english = api.client.get("/api/v1/tasks/no-such-task", headers=api.headers(token, "en"))
    chinese = api.client.get("/api/v1/tasks/no-such-task", headers=api.headers(token, "zh-CN,zh;q=0.9"))
    assert english.status_code == chinese.status_code == 404
    assert english.json == {"code": "not_found", "message": "Not found."}
    assert chinese.json == {"code": "not_found", "message": "未找到。"}
    bad = api.client.get("/api/v1/tasks?tab=nonsense&per_page=7", headers=api.headers(token, "en"))
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"tab", "per_page"}


def test_a_served_app_answers_a_real_http_client(api: Api, web: Web) -> None:
    import json
    import threading
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, web.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1"
    token = api.token("cs1")

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    try:
        status, started = call("POST", "/cases", {"process_key": "repair_service", "data": REPAIR_REQUEST})
        assert status == 201
        status, offered = call("GET", "/tasks?tab=offered")
        (task,) = [t for t in offered["items"] if t["case_id"] == started["id"]]
        assert call("POST", f"/tasks/{task['id']}/claim")[0] == 200
        status, done = call("POST", f"/tasks/{task['id']}/complete", {"data": {"solved_by_phone": "no"}})
        assert status == 200 and done["completed_by"] == "cs1"
        status, error = call("GET", "/cases/999999")
        assert status == 404 and error["code"] == "not_found"
    finally:
        server.shutdown()
        server.server_close()
    assert web.open_task(started["business_number"], "task_dispatch").role == "service_supervisor"


def test_the_worked_example_of_docs_api_md_runs_to_completion(api: Api, web: Web) -> None:
    token = api.token("cs1")
    headers = api.headers(token)
    started = _start(api, token)
    case_id = started["id"]

    def open_task(step: str) -> dict:
        case = api.client.get(f"/api/v1/cases/{case_id}", headers=headers).json
        (task,) = [t for t in case["tasks"] if t["state"] == "open" and t["spec_id"] == step]
        return task

    guidance = open_task("task_remote_guidance")
    assert api.client.post(f"/api/v1/tasks/{guidance['id']}/claim", headers=headers).status_code == 200
    solved = {"solved_by_phone": "yes", "guidance_notes": "指导客户复位主轴驱动器"}
    assert (
        api.client.post(
            f"/api/v1/tasks/{guidance['id']}/complete", headers=headers, json={"data": solved}
        ).status_code
        == 200
    )
    follow_up = open_task("task_follow_up")
    rating = {
        "rating_attitude": "very_satisfied",
        "rating_technique": "satisfied",
        "rating_arrival_time": "satisfied",
        "rating_promises": "very_satisfied",
    }
    done = api.client.post(
        f"/api/v1/tasks/{follow_up['id']}/complete", headers=headers, json={"data": rating}
    )
    assert done.status_code == 200
    case = api.client.get(f"/api/v1/cases/{case_id}", headers=headers).json
    assert case["status"] == "completed" and case["ended_at"]
    assert case["events"][-1]["action"] == "instance_completed"
