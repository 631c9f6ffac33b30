"""The bell and the notification preferences over /api/v1 with a token: list, count, mark read, choose."""

from __future__ import annotations

from sqlalchemy import select

from engine.outbox.models import Notification, NotificationPreference
from tests.web.api_client import Api
from tests.web.conftest import Web


def _mine(api: Api, token: str, **query: str) -> dict:
    response = api.client.get("/api/v1/notifications", headers=api.headers(token), query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def _unread(api: Api, token: str) -> int:
    response = api.client.get("/api/v1/notifications/unread-count", headers=api.headers(token))
    assert response.status_code == 200
    return int(response.json["unread"])


def test_a_dispatch_reaches_the_technicians_list_and_is_marked_read_one_then_all(api: Api, web: Web) -> None:
    token = api.token("tech1")
    assert _unread(api, token) == 0 and _mine(api, token)["items"] == []
    number, arrival = web.repair_at_arrival("tech1")
    web.repair_at_arrival("tech1")
    assert _unread(api, token) == 2
    listing = _mine(api, token, unread="true", per_page="1")
    assert (listing["total"], listing["page"], listing["per_page"]) == (2, 1, 1)
    (newest,) = listing["items"]
    assert newest["kind"] == "task_assigned" and newest["unread"] is True
    assert newest["subject"].startswith("【新任务】")  # Chinese unless the caller asks for English
    second = _mine(api, token, unread="true", per_page="1", page="2")["items"][0]
    assert second["business_number"] == number and second["task_id"] == arrival.id
    english = api.client.get(f"/api/v1/notifications/{second['id']}", headers=api.headers(token, "en")).json
    assert english["subject"].startswith("[Assigned]") and english["kind_label"] == "A task assigned to me"

    marked = api.client.post(f"/api/v1/notifications/{second['id']}/read", headers=api.headers(token))
    assert marked.status_code == 200 and marked.json["unread"] is False and marked.json["read_at"]
    assert _unread(api, token) == 1
    assert [n["id"] for n in _mine(api, token, unread="true")["items"]] == [newest["id"]]
    assert _mine(api, token)["total"] == 2  # read ones stay in the list

    everything = api.client.post("/api/v1/notifications/read", headers=api.headers(token))
    assert everything.status_code == 200 and everything.json == {"marked": 1}
    assert _unread(api, token) == 0 and _mine(api, token, unread="true")["total"] == 0


def test_another_persons_notification_answers_not_found_and_stays_unread(api: Api, web: Web) -> None:
    web.repair_at_arrival("tech1")
    with web.engine.sessions() as session:
        theirs = session.scalar(
            select(Notification.id).where(Notification.recipient == "tech1", Notification.medium == "inapp")
        )
    assert theirs is not None
    other = api.token("tech2")
    for response in (
        api.client.get(f"/api/v1/notifications/{theirs}", headers=api.headers(other)),
        api.client.post(f"/api/v1/notifications/{theirs}/read", headers=api.headers(other)),
        api.client.post(f"/api/v1/notifications/{theirs + 1000}/read", headers=api.headers(other)),
    ):
        assert response.status_code == 404 and response.json["code"] == "not_found"
    assert _unread(api, api.token("tech1")) == 1
    # Marking all read marks only the caller's own.
    assert api.client.post("/api/v1/notifications/read", headers=api.headers(other)).json == {"marked": 0}
    assert _unread(api, api.token("tech1")) == 1


def test_a_read_only_token_may_list_but_not_mark(api: Api, web: Web) -> None:
    web.repair_at_arrival("tech1")
    reader = api.token("tech1", scope="read")
    assert _unread(api, reader) == 1
    refused = api.client.post("/api/v1/notifications/read", headers=api.headers(reader))
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
    assert _unread(api, reader) == 1
    assert api.client.get("/api/v1/notifications").status_code == 401


def test_preferences_are_read_and_replaced_with_the_pages_checks_and_words(api: Api, web: Web) -> None:
    token = api.token("tech1")
    shown = api.client.get("/api/v1/notifications/preferences", headers=api.headers(token)).json
    assert shown["own"] is False and shown["channels"] == ["inapp"]  # the roles' default until they choose
    refused = api.client.put(
        "/api/v1/notifications/preferences",
        headers=api.headers(token, "en"),
        json={"events": ["task_assigned"], "channels": ["inapp", "email"], "email": ""},
    )
    assert refused.status_code == 422
    assert refused.json["message"] == "E-mail needs your address."
    assert refused.json["errors"] == {"email": ["E-mail needs your address."]}
    in_chinese = api.client.put(
        "/api/v1/notifications/preferences",
        headers=api.headers(token),
        json={"events": ["task_assigned"], "channels": ["inapp"], "quiet": "hours", "quiet_from": "22:00"},
    )
    assert in_chinese.status_code == 422 and "quiet_from" in in_chinese.json["errors"]
    assert "免打扰" in in_chinese.json["message"]
    unknown = api.client.put(
        "/api/v1/notifications/preferences",
        headers=api.headers(token, "en"),
        json={"events": ["everything"], "channels": ["inapp"]},
    )
    assert unknown.status_code == 422 and unknown.json["errors"] == {
        "events": ["Choose among the events listed."]
    }
    with web.engine.sessions() as session:
        assert session.get(NotificationPreference, "tech1") is None  # nothing kept
    saved = api.client.put(
        "/api/v1/notifications/preferences",
        headers=api.headers(token),
        json={
            "events": ["mentioned", "task_assigned"],
            "channels": ["inapp", "email"],
            "email": "tech1@example.cn",
            "quiet": "hours",
            "quiet_from": "22:00",
            "quiet_until": "07:30",
        },
    )
    assert saved.status_code == 200, saved.json
    assert saved.json["own"] is True and saved.json["email"] == "tech1@example.cn"
    assert saved.json["events"] == ["mentioned", "task_assigned"]
    # The page shows what the API saved.
    page = web.client("tech1").get("/notifications/preferences").text
    assert 'value="tech1@example.cn"' in page and 'value="22:00"' in page


def test_the_openapi_document_describes_the_notification_endpoints(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/notifications/read",
        "/api/v1/notifications/{notification_id}/read",
        "/api/v1/notifications/preferences",
    ):
        assert path in paths, path
    assert {"get", "put"} <= set(paths["/api/v1/notifications/preferences"])
    listed = {p["name"] for p in paths["/api/v1/notifications"]["get"]["parameters"]}
    assert {"unread", "page", "per_page"} <= listed
