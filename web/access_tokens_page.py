"""The user's settings page for personal access tokens: create one (shown once), revoke one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.accounts.access_tokens import (
    MAX_DAYS,
    MAX_NAME,
    SCOPES,
    TokenInvalid,
    issue_token,
    revoke_token,
    tokens_of,
)
from engine.errors import NotFound
from web.auth import engine

bp = Blueprint("tokens", __name__, url_prefix="/settings/tokens")


@bp.get("")
@login_required
def index() -> Any:
    """List the user's tokens with a form to create another."""
    return _render(None)


def _render(secret: str | None, status: int = 200) -> Any:
    with engine().sessions() as session:
        tokens = tokens_of(session, current_user.username)
        return render_template(
            "access_tokens.html",
            tokens=tokens,
            secret=secret,
            scopes=SCOPES,
            max_days=MAX_DAYS,
            max_name=MAX_NAME,
        ), status


@bp.post("")
@login_required
def create() -> Any:
    """Create a token and show it once."""
    days_text = request.form.get("expires", "").strip()
    if days_text and not days_text.isdigit():
        flash(_("The lifetime is a number of days from 1 to %(n)s.", n=MAX_DAYS), "error")
        return _render(None, 422)
    try:
        with engine().writer.begin() as session:
            issued = issue_token(
                session,
                current_user.username,
                request.form.get("name", ""),
                request.form.get("scope", "read"),
                int(days_text) if days_text else None,
            )
    except TokenInvalid:
        flash(
            _(
                "Give a name of at most %(n)s characters, a scope and at most %(days)s days.",
                n=MAX_NAME,
                days=MAX_DAYS,
            ),
            "error",
        )
        return _render(None, 422)
    flash(_("Token created. Copy it now: it is not shown again."), "ok")
    return _render(issued.secret)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Any:
    """Revoke one of the user's tokens."""
    try:
        with engine().writer.begin() as session:
            revoke_token(session, token_id, current_user.username)
    except NotFound:
        return _render(None, 404)
    flash(_("Token revoked: programs using it are refused from now on."), "ok")
    return redirect(url_for("tokens.index"))
