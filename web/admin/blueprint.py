"""The administrators' blueprint (``/admin``) and its gate: role ``admin`` only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_ROLE = "admin"


@bp.before_request
@login_required
def require_admin() -> Any:
    """Every admin page is for the role ``admin`` only."""
    if ADMIN_ROLE not in current_user.roles:
        abort(403)
    return None
