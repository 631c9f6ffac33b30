"""Refused commands become HTTP answers in one place (web/errors.py), whichever view they come from."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.errors import (
    ConcurrentModification,
    EngineError,
    FormInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from web.errors import status_of


def test_unknown_ids_answer_the_404_page_wherever_they_are_asked_for(web) -> None:
    cs1 = web.client("cs1")
    urls = (
        "/tasks/no-such-task",
        "/tasks/no-such-task/diagram.bpmn",
        "/comments/999999",
        "/attachments/999999",
        "/start/no_such_process",
    )
    for url in urls:
        response = cs1.get(url)
        assert response.status_code == 404, url
        assert "<h1>404</h1>" in response.text, url
        assert "页面不存在。" in response.text, url

    posted = cs1.post("/tasks/no-such-task/comments", data={"body": "在吗"})
    assert posted.status_code == 404


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("gone"), 404),
        (PermissionDenied("no"), 403),
        (TaskAlreadyCompleted("done", completed_by="cs2"), 409),
        (TaskNotAvailable("taken", assignee="cs2"), 409),
        (InstanceNotActive("suspended"), 409),
        (ConcurrentModification("changed"), 409),
        (FormInvalid("bad", errors={"x": ["required"]}), 422),
        (EngineError("refused"), 422),
    ],
)
def test_each_refusal_has_its_status(error: EngineError, status: int) -> None:
    assert status_of(error) == status


@pytest.fixture
def refusing_app(make_app) -> Flask:
    """The real app with one more route whose command refuses and is not caught by the view."""
    app: Flask = make_app(TESTING=True, WTF_CSRF_ENABLED=False)

    def suspended_case() -> str:
        raise InstanceNotActive("the case is suspended")

    def forbidden() -> str:
        raise PermissionDenied("not for you")

    app.add_url_rule("/refused/suspended", view_func=suspended_case)
    app.add_url_rule("/refused/forbidden", view_func=forbidden)
    return app


def test_an_uncaught_refusal_answers_its_status_and_says_why_in_the_users_language(refusing_app) -> None:
    client = refusing_app.test_client()

    chinese = client.get("/refused/suspended")
    assert chinese.status_code == 409
    assert "<h1>409</h1>" in chinese.text
    assert "案件未在运行，目前无法办理。" in chinese.text

    client.post("/language", data={"lang": "en"})
    english = client.get("/refused/suspended")
    assert english.status_code == 409
    assert "The case is not running, so nothing can be done on it now." in english.text


def test_a_forbidden_command_answers_the_plain_403_page(refusing_app) -> None:
    response = refusing_app.test_client().get("/refused/forbidden")

    assert response.status_code == 403
    assert "<h1>403</h1>" in response.text
    assert "not for you" not in response.text  # the engine's wording is not shown to the user
