"""Who wants which notification where: a person's own choice, else their roles' defaults, else in-app.

Quiet hours defer a notification to the end of the quiet period; they never drop one. In-app
notifications are never deferred: the bell is silent by nature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import WorkingCalendar
from engine.errors import EngineError
from engine.outbox.models import NotificationPreference, NotificationRoleDefault
from engine.store.models import User, UserRole

#: The events a person may be told about.
KINDS = (
    "task_offered",
    "task_assigned",
    "due_soon",
    "sla_breached",
    "escalation",
    "case_finished",
    "mentioned",
)
#: Staff channels: the bell, e-mail, and the group robots of WeCom, DingTalk and Feishu.
CHANNELS = ("inapp", "email", "wecom", "dingtalk", "feishu")
QUIET_MODES = ("none", "outside_working_time", "hours")
DEFAULT_CHANNELS = ("inapp",)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^\+?\d{5,20}$")


class PreferenceInvalid(EngineError):
    """A choice of events, channels, address or quiet hours that cannot be kept."""

    code = "notification_preference_invalid"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Choice:
    """What one person receives, and how to reach them."""

    username: str
    events: frozenset[str]
    channels: tuple[str, ...]
    email: str | None = None
    mobile: str | None = None
    language: str | None = None
    quiet: str = "none"
    quiet_from: str | None = None
    quiet_until: str | None = None

    def channels_for(self, kind: str) -> tuple[str, ...]:
        """The channels this person wants ``kind`` on (none when they do not want it)."""
        return self.channels if kind in self.events else ()


def choices_of(session: Session, usernames: Iterable[str]) -> dict[str, Choice]:
    """The choices of active users (unknown or inactive names are left out)."""
    return audience(session, usernames, ())[0]


def audience(
    session: Session, usernames: Iterable[str], roles: Iterable[str]
) -> tuple[dict[str, Choice], dict[str, list[str]]]:
    """The choices of the named active users and of every active holder of ``roles``, and who holds
    which of ``roles`` — in two queries (the users with their roles and own choices; the defaults)."""
    names, wanted = sorted(set(usernames)), sorted(set(roles))
    if not names and not wanted:
        return {}, {}
    holders_of = select(UserRole.user_id).where(UserRole.role.in_(wanted))
    rows = session.execute(
        select(User.username, User.language, UserRole.role, NotificationPreference)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .outerjoin(NotificationPreference, NotificationPreference.username == User.username)
        .where(User.active.is_(True), or_(User.username.in_(names), User.id.in_(holders_of)))
        .order_by(User.username)
    ).all()
    people: dict[str, tuple[str | None, NotificationPreference | None, set[str]]] = {}
    for username, language, role, own in rows:
        people.setdefault(username, (language, own, set()))[2].update([role] if role else [])
    defaults = (
        {d.role: d for d in session.scalars(select(NotificationRoleDefault))}
        if any(pref is None for _lang, pref, _roles in people.values())
        else {}
    )
    result: dict[str, Choice] = {}
    holders: dict[str, list[str]] = {role: [] for role in wanted}
    for name, (language, pref, held) in people.items():
        for role in held & set(wanted):
            holders[role].append(name)
        if pref is not None:
            result[name] = Choice(
                name,
                frozenset(pref.events),
                tuple(c for c in CHANNELS if c in pref.channels),
                pref.email,
                pref.mobile,
                language,
                pref.quiet,
                pref.quiet_from,
                pref.quiet_until,
            )
            continue
        chosen = [defaults[r] for r in sorted(held) if r in defaults]
        if chosen:
            events = frozenset(e for d in chosen for e in d.events)
            channels = tuple(c for c in CHANNELS if any(c in d.channels for d in chosen))
        else:
            events, channels = frozenset(KINDS), DEFAULT_CHANNELS
        result[name] = Choice(name, events, channels, language=language)
    return result, holders


def _check(events: Iterable[str], channels: Iterable[str]) -> tuple[list[str], list[str]]:
    events, channels = sorted(set(events)), sorted(set(channels))
    if not set(events) <= set(KINDS):
        raise PreferenceInvalid(f"unknown events; known: {', '.join(KINDS)}", "unknown_event")
    if not set(channels) <= set(CHANNELS):
        raise PreferenceInvalid(f"unknown channels; known: {', '.join(CHANNELS)}", "unknown_channel")
    return events, channels


def save_preference(
    session: Session,
    username: str,
    events: Iterable[str],
    channels: Iterable[str],
    email: str = "",
    mobile: str = "",
    quiet: str = "none",
    quiet_from: str = "",
    quiet_until: str = "",
) -> NotificationPreference:
    """Keep a person's own choice (checked first: a refused one changes nothing)."""
    chosen_events, chosen_channels = _check(events, channels)
    email, mobile = email.strip(), mobile.strip().replace(" ", "")
    if email and (len(email) > 320 or not _EMAIL.match(email)):
        raise PreferenceInvalid("the e-mail address is not valid", "bad_email")
    if "email" in chosen_channels and not email:
        raise PreferenceInvalid("e-mail needs an address", "email_needs_address")
    if mobile and not _MOBILE.match(mobile):
        raise PreferenceInvalid("the mobile number is not valid", "bad_mobile")
    if quiet not in QUIET_MODES:
        raise PreferenceInvalid("unknown quiet-hours choice", "bad_quiet")
    if quiet == "hours" and (
        not (_CLOCK.match(quiet_from) and _CLOCK.match(quiet_until)) or quiet_from == quiet_until
    ):
        raise PreferenceInvalid("quiet hours need a start and an end as HH:MM", "bad_quiet_hours")
    pref = session.get(NotificationPreference, username) or NotificationPreference(username=username)
    pref.events, pref.channels = chosen_events, chosen_channels
    pref.email, pref.mobile = email or None, mobile or None
    pref.quiet = quiet
    pref.quiet_from = quiet_from if quiet == "hours" else None
    pref.quiet_until = quiet_until if quiet == "hours" else None
    pref.updated_at = clock.now()
    session.add(pref)
    session.flush()
    return pref


def save_role_default(
    session: Session, role: str, events: Iterable[str], channels: Iterable[str], updated_by: str
) -> NotificationRoleDefault:
    """Set what holders of ``role`` receive until they choose for themselves."""
    chosen_events, chosen_channels = _check(events, channels)
    row = session.get(NotificationRoleDefault, role) or NotificationRoleDefault(role=role)
    row.events, row.channels = chosen_events, chosen_channels
    row.updated_by, row.updated_at = updated_by, clock.now()
    session.add(row)
    session.flush()
    return row


def not_before(choice: Choice, channel: str, now: datetime, calendar: WorkingCalendar) -> datetime:
    """When a notification on ``channel`` may go out: now, or the end of the person's quiet period."""
    if channel == "inapp" or choice.quiet == "none":
        return now
    if choice.quiet == "outside_working_time":
        return max(now, calendar.next_working_instant(now))
    if not (choice.quiet_from and choice.quiet_until):
        return now
    start, end = time.fromisoformat(choice.quiet_from), time.fromisoformat(choice.quiet_until)
    local = now.astimezone(calendar.timezone)
    moment = local.time()
    quiet = start <= moment < end if start < end else (moment >= start or moment < end)
    if not quiet:
        return now
    ends = datetime.combine(local.date(), end, tzinfo=calendar.timezone)
    if ends <= local:
        ends += timedelta(days=1)
    return ends
