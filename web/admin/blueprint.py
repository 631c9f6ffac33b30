"""The administrators' blueprint (``/admin``) and its gate: role ``admin`` only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from flask_login import current_user

from web.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLE = "admin"


@bp.before_request
def administrators_only() -> Any:
    """Everything here is for administrators; others get 403, anonymous users the login page."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if ADMIN_ROLE not in current_user.roles:
        abort(403)
    return None
