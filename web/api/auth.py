"""Token authentication of API requests and the blueprint every API resource is built on."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_smorest import Blueprint

from engine.accounts.access_tokens import token_user
from engine.accounts.users import Actor
from engine.errors import EngineError
from web.api.errors import api_language, engine_error, refuse
from web.auth import engine

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate() -> None:
    """Find the caller from the Bearer token; cookies are ignored, so a browser session is no key."""
    api_language()
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        refuse(401)
    with engine().writer.begin() as session:
        token = token_user(session, secret.strip())
        if token is None:
            refuse(401)
        g.api_actor = Actor(token.user.username, token.user.role_keys)
        g.api_scope = token.scope
    if request.method not in READ_METHODS and g.api_scope != "write":
        refuse(403, code="insufficient_scope", message=_scope_message())


def _scope_message() -> str:
    from flask_babel import gettext as _

    return _("This token may only read; create one with the write scope to make changes.")


def api_actor() -> Actor:
    """Return the actor the request's token stands for."""
    actor: Actor = g.api_actor
    return actor


def api_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """Create an API resource's blueprint: token auth before each view, engine refusals as JSON."""
    blp = Blueprint(name, __name__, url_prefix=url_prefix, description=description)
    blp.before_request(authenticate)
    blp.register_error_handler(EngineError, engine_error)
    return blp


__all__: list[Any] = ["api_actor", "api_blueprint", "authenticate"]
