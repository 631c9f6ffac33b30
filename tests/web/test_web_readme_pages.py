"""Every page the README names exists: a user holding every role opens it (through redirects)."""

from __future__ import annotations

import re

from engine.accounts.users import create_user
from processes.roles import ROLE_KEYS
from tests.conftest import ROOT
from tests.web.conftest import Web

PASSWORD = "readme-pages-2026"


def readme_pages() -> list[str]:
    """The paths in the README's ``## Pages`` section (`/manage`, `/admin/users`, …)."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Pages", 1)[1].split("\n## ", 1)[0]
    return sorted(set(re.findall(r"`(/[a-z/_-]*)`", section)))


def test_the_readme_names_the_pages_of_every_audience() -> None:
    pages = readme_pages()
    for page in ("/", "/start", "/manage", "/modeler", "/admin/users", "/customers", "/products", "/ledger"):
        assert page in pages


def test_every_page_the_readme_names_answers(web: Web) -> None:
    with web.engine.writer.begin() as session:
        create_user(session, "readme", PASSWORD, ROLE_KEYS, ROLE_KEYS, "全角色")
    client = web.app.test_client()
    assert client.post("/login", data={"username": "readme", "password": PASSWORD}).status_code == 302
    for page in readme_pages():
        response = client.get(page, follow_redirects=True)
        assert response.status_code == 200, (page, response.status_code)
    assert client.get("/manage").headers["Location"].endswith("/manage/cases")
