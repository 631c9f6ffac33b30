"""The settings page creates a token shown once, which then works on the API, and revokes it."""

from __future__ import annotations

import re

from tests.web.conftest import Web


def test_create_use_and_revoke_a_token_on_the_settings_page(web: Web) -> None:
    browser = web.client("cs1")
    page = browser.post("/settings/tokens", data={"name": "报修热线", "scope": "read", "expires": "30"})
    assert page.status_code == 200
    secret = re.search(r'<p class="card" id="new-token">.*?<code>(afp_[\w-]+)</code>', page.text, re.S)
    assert secret, page.text
    api = web.app.test_client()
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200
    listing = browser.get("/settings/tokens").text
    assert "报修热线" in listing and secret.group(1) not in listing  # shown once, never again
    token_id = re.search(r'data-token-id="(\d+)"', listing)
    assert token_id
    assert browser.post(f"/settings/tokens/{token_id.group(1)}/revoke").status_code == 302
    assert api.get("/api/v1/tasks", headers=headers).status_code == 401
    # Another user cannot revoke it, nor see it.
    other = web.client("cs2")
    assert other.post(f"/settings/tokens/{token_id.group(1)}/revoke").status_code == 404
    assert "报修热线" not in other.get("/settings/tokens").text


def test_bad_token_input_changes_nothing(web: Web) -> None:
    browser = web.client("cs1")
    for form in (
        {"name": "x", "scope": "admin"},
        {"name": "x", "scope": "read", "expires": "-3"},
        {"name": "x" * 101, "scope": "read"},
        {"name": "x", "scope": "read", "expires": "99999"},
    ):
        assert browser.post("/settings/tokens", data=form).status_code == 422
    assert "data-token-id" not in browser.get("/settings/tokens").text
