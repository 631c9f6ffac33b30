"""The bell and its list (``/notifications``), and each person's notification preferences."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.outbox import inbox
from engine.outbox.models import NotificationPreference
from engine.outbox.preferences import (
    CHANNELS,
    KINDS,
    QUIET_MODES,
    PreferenceInvalid,
    choices_of,
    save_preference,
)
from engine.outbox.settings import channels_from_environ
from processes.notifications.wording import CHANNEL_LABELS, KIND_LABELS, label, make_renderer
from web.auth import engine
from web.i18n import current_lang

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def refusal(error: PreferenceInvalid) -> str:
    """Why a choice of notifications was refused, in the user's language."""
    reasons = {
        "unknown_event": _("Choose among the events listed."),
        "unknown_channel": _("Choose among the channels listed."),
        "bad_email": _("The e-mail address is not valid."),
        "email_needs_address": _("E-mail needs your address."),
        "bad_mobile": _("The mobile number is not valid (digits only, with an optional +)."),
        "bad_quiet": _("Choose how quiet hours work."),
        "bad_quiet_hours": _("Quiet hours need a start and an end as HH:MM, not the same."),
    }
    return reasons.get(error.reason, _("These choices cannot be kept."))


def current_choices(username: str) -> dict[str, Any]:
    """What a person receives now and where; ``own`` is false while their roles' defaults apply."""
    with engine().sessions() as session:
        own = session.get(NotificationPreference, username)
        now = choices_of(session, [username]).get(username)
    return {
        "events": sorted(now.events) if now else list(KINDS),
        "channels": list(now.channels) if now else ["inapp"],
        "email": (own.email if own else "") or "",
        "mobile": (own.mobile if own else "") or "",
        "quiet": own.quiet if own else "none",
        "quiet_from": (own.quiet_from if own else "") or "",
        "quiet_until": (own.quiet_until if own else "") or "",
        "own": own is not None,
    }


@bp.get("/unread.json")
@login_required
def unread() -> Any:
    """The bell's count, fetched by the page's script (so pages themselves run no extra query)."""
    with engine().sessions() as session:
        count = inbox.unread_count(session, current_user.username)
    response = jsonify({"unread": count})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@login_required
def index() -> Any:
    """The newest notifications; visiting the list marks them read."""
    lang = current_lang()
    render = make_renderer(timezone=engine().config.calendar.timezone)
    with engine().writer.begin() as session:
        rows = inbox.latest(session, current_user.username)
        items = []
        for row in rows:
            message = render(row.kind, dict(row.params), lang)
            task_id, instance_id = row.params.get("task_id"), row.params.get("instance_id")
            items.append(
                {
                    "id": row.id,
                    "kind": label(KIND_LABELS, row.kind, lang),
                    "subject": message.subject,
                    "text": message.text,
                    "at": row.created_at,
                    "unread": row.read_at is None,
                    "href": url_for("inbox.task", task_id=task_id) if task_id else None,
                    "case": instance_id,
                }
            )
        if rows:
            inbox.mark_read(session, current_user.username, rows[0].id)
    return render_template("notifications.html", items=items)


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    """Which events reach me, on which channels, where, and when not."""
    lang = current_lang()
    status = 200
    form: dict[str, Any] | None = None
    if request.method == "POST":
        form = {
            "events": request.form.getlist("events"),
            "channels": request.form.getlist("channels"),
            "email": request.form.get("email", "")[:320],
            "mobile": request.form.get("mobile", "")[:32],
            "quiet": request.form.get("quiet", "none"),
            "quiet_from": request.form.get("quiet_from", "")[:5],
            "quiet_until": request.form.get("quiet_until", "")[:5],
        }
        try:
            with engine().writer.begin() as session:
                save_preference(session, current_user.username, **form)
        except PreferenceInvalid as error:
            flash(refusal(error), "error")
            status = 422
        else:
            flash(_("Your notification choices are saved."), "ok")
            return redirect(url_for("notifications.preferences"))
    # Until they choose, people see what they receive now: their roles' defaults.
    choices = current_choices(current_user.username)
    own = choices.pop("own")
    if form is None:
        form = choices
    return render_template(
        "notification_preferences.html",
        form=form,
        own=own,
        kinds=[(k, label(KIND_LABELS, k, lang)) for k in KINDS],
        channels=[(c, label(CHANNEL_LABELS, c, lang)) for c in CHANNELS],
        # Channels this server has no settings for: chosen ones would fail (said on the page).
        unconfigured=[c for c in CHANNELS if c != "inapp" and c not in channels_from_environ()],
        quiet_modes=QUIET_MODES,
    ), status
