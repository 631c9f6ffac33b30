"""The managers' blueprint: its gate, the helpers every managers' page shares."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app
from flask_babel import gettext as _
from flask_login import current_user

from web.auth import engine
from web.extensions import login_manager

bp = Blueprint("oversight", __name__, url_prefix="/manage")


@bp.before_request
def managers_only() -> Any:
    """Everything here is for managers (EngineConfig.manager_roles); others get 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not (engine().config.manager_roles & current_user.roles):
        abort(403)
    return None


@bp.app_context_processor
def manager_helpers() -> dict[str, Any]:
    """Let every page ask whether the user is a manager (for the navigation link)."""

    def is_manager() -> bool:
        user = current_user
        return bool(getattr(user, "is_authenticated", False) and engine().config.manager_roles & user.roles)

    return {"is_manager": is_manager, "status_label": status_label}


def company_timezone() -> str:
    """The company's timezone: the days and months of the managers' lists and figures are its own."""
    return str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def status_label(status: str) -> str:
    """Name a case's shown status in the user's language."""
    labels = {
        "running": _("running"),
        "late": _("running late"),
        "waiting": _("waiting"),
        "error": _("in error"),
        "suspended": _("suspended"),
        "completed": _("completed"),
        "terminated": _("terminated"),
        "scheduled": _("scheduled"),
    }
    return labels.get(status, status)
