"""Administrators' pages under ``/admin`` (role ``admin``): users and roles, the working-time calendar."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLE = "admin"


@bp.before_request
def administrators_only() -> Any:
    """Everything here is for administrators; others get 403, anonymous users the login page."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if ADMIN_ROLE not in current_user.roles:
        abort(403)
    return None


# The views register themselves on the blueprint.
from web.admin import calendar, users  # noqa: E402, F401
