"""The request's language and timezone, and how dates, due times and sizes read in them."""

from __future__ import annotations

from datetime import datetime, tzinfo

from flask import g, request, session
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from engine import clock

LANGUAGES = ("zh", "en")


def current_lang() -> str:
    """Return the interface language of this request: the user's choice, else Chinese."""
    if "lang" not in g:
        chosen = session.get("lang") or request.cookies.get("lang")
        if chosen not in LANGUAGES and getattr(current_user, "is_authenticated", False):
            chosen = current_user.language
        g.lang = chosen if chosen in LANGUAGES else "zh"
    return str(g.lang)


def select_locale() -> str:
    """Tell Flask-Babel the locale of this request."""
    return current_lang()


def select_timezone() -> str | None:
    """Tell Flask-Babel the user's own timezone, or None for the company's (BABEL_DEFAULT_TIMEZONE)."""
    if getattr(current_user, "is_authenticated", False):
        return current_user.timezone or None
    return None


def user_timezone() -> tzinfo:
    """Return the timezone dates are shown in for this request."""
    zone: tzinfo = get_timezone()
    return zone


def format_when(value: datetime | None) -> str:
    """Show a moment as ``yyyy-MM-dd HH:mm`` in the user's timezone (a dash for none)."""
    if value is None:
        return "—"
    return str(format_datetime(value, "yyyy-MM-dd HH:mm"))


def due_state(due_at: datetime | None, now: datetime | None = None) -> str:
    """Tell how an open task stands against its due time: "overdue", "today" or ""."""
    if due_at is None:
        return ""
    now = now or clock.now()
    if due_at < now:
        return "overdue"
    zone = user_timezone()
    return "today" if due_at.astimezone(zone).date() == now.astimezone(zone).date() else ""


def format_size(size: int) -> str:
    """Show a file size in bytes, KB or MB."""
    if size < 1024:
        return _("%(n)s bytes", n=size)
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
