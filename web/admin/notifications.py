"""The roles' notification defaults: what a role's holders receive until they choose for themselves."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.outbox.models import NotificationRoleDefault
from engine.outbox.preferences import CHANNELS, DEFAULT_CHANNELS, KINDS, PreferenceInvalid, save_role_default
from processes.notifications.wording import CHANNEL_LABELS, KIND_LABELS, label
from processes.roles import ROLE_KEYS
from web.admin.blueprint import bp
from web.admin.users import role_names
from web.auth import engine
from web.i18n import current_lang
from web.notifications import refusal


@bp.route("/notifications", methods=["GET", "POST"])
def notification_defaults() -> Any:
    """Show and set each role's default events and channels."""
    status = 200
    if request.method == "POST":
        role = request.form.get("role", "")
        if role not in ROLE_KEYS:
            flash(_("Choose one of the roles listed."), "error")
            status = 422
        else:
            try:
                with engine().writer.begin() as session:
                    save_role_default(
                        session,
                        role,
                        request.form.getlist("events"),
                        request.form.getlist("channels"),
                        current_user.username,
                    )
            except PreferenceInvalid as error:
                flash(refusal(error), "error")
                status = 422
            else:
                flash(_("The defaults of the role are saved."), "ok")
                return redirect(url_for("admin.notification_defaults"))
    lang = current_lang()
    with engine().sessions() as session:
        saved = {row.role: row for row in session.scalars(select(NotificationRoleDefault))}
    rows = [
        {
            "key": key,
            "name": name,
            "events": saved[key].events if key in saved else list(KINDS),
            "channels": saved[key].channels if key in saved else list(DEFAULT_CHANNELS),
            "set": key in saved,
        }
        for key, name in role_names()
    ]
    return render_template(
        "admin/notifications.html",
        rows=rows,
        kinds=[(k, label(KIND_LABELS, k, lang)) for k in KINDS],
        channels=[(c, label(CHANNEL_LABELS, c, lang)) for c in CHANNELS],
    ), status
