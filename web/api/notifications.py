"""Notifications: the caller's bell (a paged list, the unread count, marking read) and their preferences.

Only the caller's own in-app notifications are reachable: another person's answers 404, as one
that does not exist does, so ids reveal nothing. Preferences are checked by the same rules, and
refused with the same words, as on the preferences page.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from engine.outbox import inbox
from engine.outbox.models import Notification
from engine.outbox.preferences import (
    CHANNELS,
    KINDS,
    QUIET_MODES,
    PreferenceInvalid,
    save_preference,
)
from processes.notifications.wording import KIND_LABELS, label, make_renderer
from web.api.auth import api_actor, api_blueprint
from web.api.errors import api_language, refuse
from web.api.schemas import InputSchema, page_of
from web.auth import engine
from web.notifications import current_choices, refusal

blp = api_blueprint(
    "api_notifications", "/api/v1/notifications", "The caller's notifications and notification preferences."
)

#: Which field of the preferences a refusal concerns.
REFUSED_FIELD = {
    "unknown_event": "events",
    "unknown_channel": "channels",
    "bad_email": "email",
    "email_needs_address": "email",
    "bad_mobile": "mobile",
    "bad_quiet": "quiet",
    "bad_quiet_hours": "quiet_from",
}


class NotificationSchema(ma.Schema):
    """One in-app notification, worded in the caller's language."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(
        required=True, metadata={"description": "task_offered, task_assigned, due_soon, …"}
    )
    kind_label = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    case_id = ma.fields.Integer(allow_none=True)
    task_id = ma.fields.String(allow_none=True)
    business_number = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    read_at = ma.fields.DateTime(allow_none=True)
    unread = ma.fields.Boolean(required=True)


NotificationPageSchema = page_of(NotificationSchema)


class NotificationQueryArgsSchema(InputSchema):
    """Which notifications to list."""

    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only those not read yet"})
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class UnreadSchema(ma.Schema):
    """How many notifications the caller has not read."""

    unread = ma.fields.Integer(required=True)


class MarkedSchema(ma.Schema):
    """How many notifications were marked read."""

    marked = ma.fields.Integer(required=True)


class PreferencesSchema(InputSchema):
    """Which events reach the caller, on which channels, at which addresses, and when not."""

    events = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=32)),
        required=True,
        validate=validate.Length(max=len(KINDS)),
        metadata={"description": "Among: " + ", ".join(KINDS)},
    )
    channels = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=16)),
        required=True,
        validate=validate.Length(max=len(CHANNELS)),
        metadata={"description": "Among: " + ", ".join(CHANNELS)},
    )
    email = ma.fields.String(load_default="", validate=validate.Length(max=320))
    mobile = ma.fields.String(load_default="", validate=validate.Length(max=32))
    quiet = ma.fields.String(
        load_default="none", metadata={"description": "Among: " + ", ".join(QUIET_MODES)}
    )
    quiet_from = ma.fields.String(
        load_default="", validate=validate.Length(max=5), metadata={"example": "22:00"}
    )
    quiet_until = ma.fields.String(
        load_default="", validate=validate.Length(max=5), metadata={"example": "07:30"}
    )
    own = ma.fields.Boolean(dump_only=True, metadata={"description": "False while the role defaults apply"})


def notification_dict(row: Notification, lang: str) -> dict[str, Any]:
    """Return a stored notification worded in ``lang``, for NotificationSchema."""
    params = dict(row.params or {})
    message = make_renderer(timezone=engine().config.calendar.timezone)(row.kind, params, lang)
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_label": label(KIND_LABELS, row.kind, lang),
        "subject": message.subject,
        "text": message.text,
        "case_id": row.instance_id,
        "task_id": params.get("task_id"),
        "business_number": params.get("business_number"),
        "created_at": row.created_at,
        "read_at": row.read_at,
        "unread": row.read_at is None,
    }


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationQueryArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List the caller's notifications, newest first (optionally only the unread ones)."""
        lang = api_language()
        offset = (args["page"] - 1) * args["per_page"]
        with engine().sessions() as session:
            rows, total = inbox.page(session, api_actor().username, args["unread"], offset, args["per_page"])
            items = [notification_dict(row, lang) for row in rows]
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/unread-count")
class UnreadCount(MethodView):
    @blp.response(200, UnreadSchema)
    def get(self) -> dict[str, Any]:
        """Count the caller's unread notifications (the bell's number)."""
        with engine().sessions() as session:
            return {"unread": inbox.unread_count(session, api_actor().username)}


@blp.route("/read")
class ReadAll(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self) -> dict[str, Any]:
        """Mark all the caller's notifications read."""
        with engine().writer.begin() as session:
            return {"marked": inbox.mark_all_read(session, api_actor().username)}


@blp.route("/<int:notification_id>")
class NotificationItem(MethodView):
    @blp.response(200, NotificationSchema)
    def get(self, notification_id: int) -> dict[str, Any]:
        """Show one of the caller's notifications (404 for anyone else's)."""
        with engine().sessions() as session:
            row = inbox.one_of(session, api_actor().username, notification_id)
            if row is None:
                refuse(404)
            return notification_dict(row, api_language())


@blp.route("/<int:notification_id>/read")
class ReadOne(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, notification_id: int) -> dict[str, Any]:
        """Mark one of the caller's notifications read (404 for anyone else's)."""
        with engine().writer.begin() as session:
            row = inbox.mark_one_read(session, api_actor().username, notification_id)
            if row is None:
                refuse(404)
            session.flush()
            return notification_dict(row, api_language())


@blp.route("/preferences")
class Preferences(MethodView):
    @blp.response(200, PreferencesSchema)
    def get(self) -> dict[str, Any]:
        """Show the caller's choices (their roles' defaults until they choose)."""
        return current_choices(api_actor().username)

    @blp.arguments(PreferencesSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace the caller's choices; a refused choice changes nothing."""
        username = api_actor().username
        try:
            with engine().writer.begin() as session:
                save_preference(session, username, **args)
        except PreferenceInvalid as error:
            api_language()
            message = refusal(error)
            refuse(
                422,
                code=error.code,
                message=message,
                errors={REFUSED_FIELD.get(error.reason, "events"): [message]},
            )
        return current_choices(username)
