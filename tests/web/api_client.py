"""Calls to /api/v1 with personal access tokens of the web tests' demo users."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.accounts.access_tokens import issue_token
from engine.runtime import Engine


class Api:
    """Calls to /api/v1 as a user holding a token."""

    def __init__(self, client: FlaskClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine

    def token(self, username: str, scope: str = "write", days: int | None = None) -> str:
        """Issue a token for ``username`` straight through the engine's token module."""
        with self.engine.writer.begin() as session:
            return issue_token(session, username, "test", scope, days).secret

    @staticmethod
    def headers(token: str, lang: str | None = None) -> dict[str, str]:
        """Return the headers of a request made with ``token``."""
        headers = {"Authorization": f"Bearer {token}"}
        if lang:
            headers["Accept-Language"] = lang
        return headers


@pytest.fixture
def api(app: Flask, deployed: Engine) -> Api:
    return Api(app.test_client(), deployed)
