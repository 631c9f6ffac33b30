"""Access by role on every task URL, the language kept on the user, and pages usable by keyboard."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from engine.store.models import Attachment, Comment, User

REMOTE_GUIDANCE = "电话指导"


@pytest.fixture
def case_of_customer_service(web):
    """A case at 电话指导 with a comment and a file, all customer service's business."""
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    task_id = web.task_id(cs1, number, REMOTE_GUIDANCE)
    cs1.post(f"/tasks/{task_id}/comments", data={"body": "客户很着急"})
    cs1.post(
        f"/tasks/{task_id}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.4 quote"), "quote.pdf")},
        content_type="multipart/form-data",
    )
    with web.engine.sessions() as session:
        comment_id = session.scalar(select(Comment.id))
        attachment_id = session.scalar(select(Attachment.id))
    return task_id, comment_id, attachment_id


def test_another_roles_user_gets_a_plain_403_on_every_url_of_the_task(web, case_of_customer_service) -> None:
    task_id, comment_id, attachment_id = case_of_customer_service
    tech1 = web.client("tech1")
    responses = {
        "task": tech1.get(f"/tasks/{task_id}"),
        "diagram": tech1.get(f"/tasks/{task_id}/diagram.bpmn"),
        "comment": tech1.get(f"/comments/{comment_id}"),
        "attachment": tech1.get(f"/attachments/{attachment_id}"),
        "complete": tech1.post(f"/tasks/{task_id}", data={"action": "complete", "solved_by_phone": "no"}),
        "claim": tech1.post(f"/tasks/{task_id}/claim"),
        "assign": tech1.post(f"/tasks/{task_id}/assign", data={"assignee": "cs1"}),
        "add comment": tech1.post(f"/tasks/{task_id}/comments", data={"body": "x"}),
    }
    for name, response in responses.items():
        assert response.status_code == 403, name
        assert "<h1>403</h1>" in response.text, name
        assert "您无权访问此页面。" in response.text, name
        assert "Traceback" not in response.text, name
        assert "华东精密机械有限公司" not in response.text and "客户很着急" not in response.text, name
    assert [r.step for r in web.rows(web.client("cs1"), "offered")] == [REMOTE_GUIDANCE]  # nothing happened


def test_the_403_page_is_in_the_users_language(web, case_of_customer_service) -> None:
    task_id, _comment_id, _attachment_id = case_of_customer_service
    tech1 = web.client("tech1")
    tech1.post("/language", data={"lang": "en"})
    response = tech1.get(f"/tasks/{task_id}")
    assert response.status_code == 403
    assert "You do not have access to this page." in response.text


def test_a_supervisor_sees_any_task_but_cannot_fill_in_another_roles_form(
    web, case_of_customer_service
) -> None:
    task_id, comment_id, attachment_id = case_of_customer_service
    sup1 = web.client("sup1")
    page = sup1.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert 'id="task-form"' not in page.text
    assert "客户很着急" in page.text
    assert sup1.get(f"/attachments/{attachment_id}").status_code == 200
    refused = sup1.post(f"/tasks/{task_id}", data={"action": "complete", "solved_by_phone": "no"})
    assert refused.status_code == 409
    assert "您的角色无权执行此操作。" in web.flashes(refused.text)
    assert sup1.get(f"/comments/{comment_id}").status_code == 302


def test_the_language_choice_is_kept_on_the_user_for_its_next_login_anywhere(web) -> None:
    cs1 = web.client("cs1")
    cs1.post("/language", data={"lang": "en"})
    with web.engine.sessions() as session:
        assert session.scalar(select(User.language).where(User.username == "cs1")) == "en"

    other_browser = web.app.test_client()
    assert "<h1>登录</h1>" in other_browser.get("/login").text  # nobody known yet: Chinese
    response = other_browser.post("/login", data={"username": "cs1", "password": "demo"})
    cookie = other_browser.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert "<h1>Inbox</h1>" in other_browser.get(response.location).text

    cs1.post("/language", data={"lang": "zh"})
    with web.engine.sessions() as session:
        assert session.scalar(select(User.language).where(User.username == "cs1")) == "zh"
    anonymous = web.app.test_client()
    anonymous.post("/language", data={"lang": "en"})  # before logging in: only the browser remembers
    with web.engine.sessions() as session:
        assert session.scalar(select(User.language).where(User.username == "cs1")) == "zh"


def test_pages_have_a_skip_link_labelled_controls_and_landmarks(web) -> None:
    cs1 = web.client("cs1")
    number = web.start_repair(cs1)
    inbox = cs1.get("/?tab=offered").text
    assert re.search(r'<body>\s*<a class="skip-link" href="#main">跳到正文</a>', inbox)
    assert '<main id="main" tabindex="-1">' in inbox
    for control in ("filter-q", "filter-process", "filter-step", "filter-urgency"):
        assert f'<label for="{control}">' in inbox and f'id="{control}"' in inbox
    assert re.search(r'<nav class="tabs" aria-label="待办分类">', inbox)
    assert 'aria-label="认领 ' in inbox  # each claim button says which task it claims
    assert 'aria-sort="ascending"' in inbox

    page = cs1.get(f"/tasks/{web.task_id(cs1, number, REMOTE_GUIDANCE)}").text
    for control in ("comment-body", "attachment-file", "field-guidance_notes"):
        assert f'<label for="{control}">' in page
    assert 'role="radiogroup" aria-labelledby="field-solved_by_phone-label"' in page
    assert 'id="diagram" class="diagram" tabindex="0"' in page  # reachable by keyboard, moved by arrow keys


def test_the_stylesheet_has_focus_styles_and_layouts_for_tablets_and_phones(web) -> None:
    css = web.app.test_client().get("/static/afterflow.css").text
    assert ":focus-visible { outline: 3px solid" in css
    assert ".skip-link:focus { top: .5rem; }" in css
    assert "@media (max-width: 900px)" in css and "@media (max-width: 520px)" in css
