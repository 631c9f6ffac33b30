"""Audit-event names as people read them, in the interface language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

EVENT_LABELS = {
    "due_retimed": _l("due time moved by a calendar change"),
    "instance_started": _l("case started"),
    "instance_scheduled": _l("case scheduled"),
    "instance_completed": _l("case completed"),
    "instance_error": _l("error"),
    "instance_retried": _l("retried"),
    "instance_suspended": _l("suspended"),
    "instance_resumed": _l("resumed"),
    "instance_terminated": _l("terminated"),
    "task_created": _l("task created"),
    "task_claimed": _l("claimed"),
    "task_unclaimed": _l("given back"),
    "task_assigned": _l("assigned"),
    "task_completed": _l("completed"),
    "task_cancelled": _l("task cancelled"),
    "timer_fired": _l("time limit reached"),
    "timer_cancelled": _l("timer cancelled"),
    "message_received": _l("message received"),
    "message_unrouted": _l("message not delivered"),
    "linked_case_started": _l("linked case started"),
    "comment_added": _l("commented on"),
    "attachment_added": _l("attached a file to"),
    "task_reassign_reason": _l("reason for reassigning"),
    "instance_migrated": _l("moved to another version"),
    "user_created": _l("user created"),
    "user_disabled": _l("user disabled"),
    "user_enabled": _l("user enabled"),
    "password_reset": _l("password reset"),
    "roles_changed": _l("roles changed"),
    "login_locked": _l("locked after failed log-ins"),
    "login_unlocked": _l("unlocked"),
    "signed": _l("signed"),
    "signature_refused": _l("recorded a refused signature on"),
}


def event_label(action: str) -> str:
    """Return the readable name of an audit event (the code itself when unknown)."""
    label = EVENT_LABELS.get(action)
    return str(label) if label is not None else action
