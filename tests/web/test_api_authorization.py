"""Every API route, as every demo role, is allowed or refused exactly when the page is."""

from __future__ import annotations

from engine.accounts import users
from engine.accounts.users import Actor, create_user
from processes.demo.users import DEMO_PASSWORD, DEMO_USERS
from processes.roles import ROLE_KEYS
from tests.web.api_client import Api
from tests.web.conftest import EXTRA_USERS, WEB_USERS, Web

ADMIN = Actor("admin", frozenset({"admin"}))


def _add_every_demo_user(web: Web, password_hash: str) -> list[str]:
    existing = set(WEB_USERS) | {name for name, _n, _r in EXTRA_USERS}
    real_hash = users.hash_password
    users.hash_password = lambda p: password_hash if p == DEMO_PASSWORD else real_hash(p)  # type: ignore[assignment]
    try:
        with web.engine.writer.begin() as session:
            for username, display_name, roles in DEMO_USERS:
                if username not in existing:
                    create_user(session, username, DEMO_PASSWORD, roles, ROLE_KEYS, display_name)
    finally:
        users.hash_password = real_hash  # type: ignore[assignment]
    return [username for username, _n, _r in DEMO_USERS]


def _allowed(status: int) -> bool:
    assert status < 500, status
    return status not in (401, 403, 404)


def test_each_route_as_each_role_answers_as_the_page(api: Api, web: Web, demo_password_hash: str) -> None:
    number = web.start_repair(web.client("cs1"))
    task = web.open_task(number, "task_remote_guidance")
    case_id = task.instance_id
    differences: list[str] = []
    outcomes: dict[str, set[tuple[bool, bool]]] = {}

    def compare(username: str, action: str, page: int | bool, through_api: int | bool) -> None:
        by_page = page if isinstance(page, bool) else _allowed(page)
        by_api = through_api if isinstance(through_api, bool) else _allowed(through_api)
        outcomes.setdefault(action, set()).add((by_page, by_api))
        if by_page != by_api:
            differences.append(f"{username} {action}: page {page}, api {through_api}")

    for username in _add_every_demo_user(web, demo_password_hash):
        browser, token = web.client(username), api.token(username)
        headers = api.headers(token)
        compare(
            username,
            "start a repair",
            browser.post("/start/repair_service", data=web.request).status_code,
            api.client.post(
                "/api/v1/cases", headers=headers, json={"process_key": "repair_service", "data": web.request}
            ).status_code,
        )
        compare(
            username,
            "list cases",
            browser.get("/manage/cases").status_code,
            api.client.get("/api/v1/cases", headers=headers).status_code,
        )
        compare(
            username,
            "see the task",
            browser.get(f"/tasks/{task.id}").status_code,
            api.client.get(f"/api/v1/tasks/{task.id}", headers=headers).status_code,
        )
        compare(
            username,
            "see the team tab",
            'id="team"' in browser.get("/?tab=team").text,
            api.client.get("/api/v1/tasks?tab=team", headers=headers).status_code,
        )
        compare(
            username,
            "read the process files",
            browser.get("/modeler/").status_code,
            api.client.get(
                "/api/v1/process-definitions/repair_service/versions/1/files", headers=headers
            ).status_code,
        )
        page = browser.post(f"/manage/cases/{case_id}/suspend", data={"reason": "核对"}).status_code
        if _allowed(page):
            web.engine.resume(case_id, ADMIN, "核对完毕")
        through_api = api.client.post(
            f"/api/v1/cases/{case_id}/suspend", headers=headers, json={"reason": "核对"}
        ).status_code
        if _allowed(through_api):
            web.engine.resume(case_id, ADMIN, "核对完毕")
        compare(username, "suspend", page, through_api)
        page_assign = browser.post(f"/tasks/{task.id}/assign", data={"assignee": "cs2"}).status_code
        api_assign = api.client.post(
            f"/api/v1/tasks/{task.id}/assign", headers=headers, json={"assignee": "cs2"}
        ).status_code
        compare(username, "assign", page_assign, api_assign)
        web.engine.unclaim(task.id, ADMIN)

        browser.post(f"/tasks/{task.id}/claim", data={})
        claimed_by_page = web.open_task(number, "task_remote_guidance").assignee == username
        web.engine.unclaim(task.id, ADMIN) if claimed_by_page else None
        api.client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers)
        claimed_by_api = web.open_task(number, "task_remote_guidance").assignee == username
        web.engine.unclaim(task.id, ADMIN) if claimed_by_api else None
        compare(username, "claim", claimed_by_page, claimed_by_api)

    assert differences == []
    # Every action was both allowed to some role and refused to another: the matrix tests something.
    for action, seen in outcomes.items():
        assert seen == {(True, True), (False, False)}, (action, seen)
