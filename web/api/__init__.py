"""The REST API at /api/v1: one flask-smorest blueprint per resource, authenticated by personal tokens."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from web.api.errors import ApiErrorSchema, api_error

API_PREFIX = "/api/v1"


class AfterflowApi(Api):
    """flask-smorest's Api with our error shape; HTML pages keep their own error handler."""

    ERROR_SCHEMA = ApiErrorSchema

    def _register_error_handlers(self) -> None:
        # flask-smorest would answer every HTTP error of the whole app in JSON; the app's
        # handler sends only /api/ paths to web.api.errors.api_error instead.
        pass


api = AfterflowApi(
    spec_kwargs={
        "info": {
            "description": "Start and follow cases, work tasks and read records and KPIs. "
            "Authenticate with a personal access token: `Authorization: Bearer afp_…`."
        }
    }
)


def init_api(app: Flask) -> None:
    """Bind the API to the app and register its blueprints (token auth, CSRF-exempt)."""
    from web.api import cases, definitions, docs, kpis, messages, notifications, records, tasks
    from web.extensions import csrf

    app.config.update(
        API_TITLE="afterflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"security": [{"bearer": []}]},
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A personal access token"}
    )
    for blueprint in (
        definitions.blp,
        cases.blp,
        tasks.blp,
        messages.blp,
        records.blp,
        kpis.blp,
        notifications.blp,
    ):
        csrf.exempt(blueprint)  # only a bearer token authenticates here, never a cookie
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    app.extensions["afterflow_api_error"] = JsonErrors()
    from web import access_tokens_page, webhooks_page

    app.register_blueprint(access_tokens_page.bp)
    app.register_blueprint(webhooks_page.bp)


def wants_json(path: str) -> bool:
    """Tell whether an error on this path is answered in the API's JSON shape."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class JsonErrors:
    """What web/errors.py calls for HTTP errors under /api/v1 (so it need not import the API)."""

    wants = staticmethod(wants_json)

    def __call__(self, error: HTTPException) -> Response:
        """Answer the error in the API's JSON shape."""
        return api_error(error)


__all__: list[Any] = ["api", "init_api", "wants_json"]
