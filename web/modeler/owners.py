"""Who may use the modeler's pages: process owners and administrators."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user

from web.extensions import login_manager

OWNER_ROLES = frozenset({"process_owner", "admin"})


def owners_only() -> Any:
    """A blueprint's ``before_request``: log in first, then 403 for every role but the owners'."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not (OWNER_ROLES & current_user.roles):
        abort(403)
    return None
