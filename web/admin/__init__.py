"""Administrators' pages under ``/admin`` (role ``admin``): the working-time calendar, and more to come."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin() -> Any:
    """Every admin page is for the role ``admin`` only."""
    if "admin" not in current_user.roles:
        abort(403)
    return None


# The views register themselves on the blueprint.
from web.admin import calendar  # noqa: E402, F401
