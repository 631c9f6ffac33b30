"""Notification settings: each role's defaults, the notices customers get, and when tasks are "due soon".

The roles' defaults are what a role's holders receive until they choose for themselves; the
customers' notices are optional per company; the due-soon share is set per process and as a default.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.outbox.models import NotificationRoleDefault
from engine.outbox.preferences import CHANNELS, DEFAULT_CHANNELS, KINDS, PreferenceInvalid, save_role_default
from processes.notifications import DueSoonShare
from processes.notifications.settings import (
    CUSTOMER_CHANNELS,
    DEFAULT_KEY,
    NoticeSettingInvalid,
    customer_notices,
    due_soon_shares,
    save_customer_notices,
    save_due_soon_share,
)
from processes.notifications.wording import CHANNEL_LABELS, KIND_LABELS, label
from processes.roles import ROLE_KEYS
from web.admin.blueprint import bp
from web.admin.users import role_names
from web.auth import engine
from web.i18n import current_lang
from web.names_view import process_label
from web.notifications import refusal

CUSTOMER_CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "email": ("电子邮件", "E-mail"),
    "sms": ("短信（短信网关）", "Text message (the SMS gateway)"),
}


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
    return _page(status)


def setting_refusal(error: NoticeSettingInvalid) -> str:
    """Why a notification setting was refused, naming the field, in the user's language."""
    reasons = {
        "unknown_channel": _("Customer channels: choose among the channels listed."),
        "bad_share": _("Due-soon share: enter a percentage above 0 and below 100."),
        "unknown_process": _("Due-soon share: choose one of the processes listed."),
    }
    return reasons.get(error.reason, _("These settings cannot be kept."))


@bp.post("/notifications/customers")
def customer_notice_setting() -> Any:
    """Set which notices customers get, on which channels, and whether the technician is named."""
    try:
        with engine().writer.begin() as session:
            save_customer_notices(
                session,
                request.form.getlist("channels"),
                request.form.get("name_technician") == "yes",
                current_user.username,
            )
    except NoticeSettingInvalid as error:
        flash(setting_refusal(error), "error")
        return _page(422)
    flash(_("The customers' notices are saved."), "ok")
    return redirect(url_for("admin.notification_defaults") + "#customers")


@bp.post("/notifications/due-soon")
def due_soon_setting() -> Any:
    """Set the due-soon share (a percentage of a task's time) of one process, or the default."""
    text = request.form.get("percent", "").strip()[:16]
    try:
        share = None if text == "" else float(text) / 100
    except ValueError:
        share = float("nan")
    try:
        with engine().writer.begin() as session:
            save_due_soon_share(session, request.form.get("process", "")[:128], share, current_user.username)
    except NoticeSettingInvalid as error:
        flash(setting_refusal(error), "error")
        return _page(422)
    flash(_("The due-soon share is saved."), "ok")
    return redirect(url_for("admin.notification_defaults") + "#due-soon")


def _page(status: int) -> Any:
    lang = current_lang()
    with engine().sessions() as session:
        saved = {row.role: row for row in session.scalars(select(NotificationRoleDefault))}
        customers = customer_notices(session)
        shares = due_soon_shares(session)
        policy_share = DueSoonShare().of_policy(session)
        processes = sorted({d.process_key for d in engine().latest_definitions(session)})
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
        customers=customers,
        customer_channels=[(c, label(CUSTOMER_CHANNEL_LABELS, c, lang)) for c in CUSTOMER_CHANNELS],
        default_percent=_percent(shares.get(DEFAULT_KEY)),
        policy_percent=_percent(policy_share),
        shares=[(key, process_label(key, key), _percent(shares.get(key))) for key in processes],
    ), status


def _percent(share: float | None) -> str:
    """A share as the percentage the form shows ("" when not set)."""
    return "" if share is None else f"{share * 100:g}"
