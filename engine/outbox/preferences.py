"""Who wants which notification where: a person's own choice, else their roles' defaults, else in-app.

Quiet hours defer a notification to the end of the quiet period; they never drop one. In-app
notifications are never deferred: the bell is silent by nature.

The roles' defaults are company settings, read once per process and database and read again
only when their revision — how many there are and when the last was saved, read beside the
people in the statement that finds them — has moved (every save moves it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, ScalarSelect, func, or_, select, update
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


@dataclass(frozen=True)
class RoleDefault:
    """What holders of one role receive until they choose for themselves."""

    events: frozenset[str]
    channels: frozenset[str]


#: A revision of the roles' defaults: how many there are, and when the last was saved.
Revision = tuple[int, datetime | None]

#: The roles' defaults each database had when this process last read them, with their revision.
_KNOWN_DEFAULTS: WeakKeyDictionary[Engine, tuple[Revision, dict[str, RoleDefault]]] = WeakKeyDictionary()


def revision_columns() -> tuple[ScalarSelect[Any], ScalarSelect[Any]]:
    """The roles' defaults' revision as two columns another statement can read beside its own."""
    return (
        select(func.count()).select_from(NotificationRoleDefault).scalar_subquery(),
        select(func.max(NotificationRoleDefault.updated_at)).scalar_subquery(),
    )


def role_defaults(session: Session, revision: Revision | None = None) -> dict[str, RoleDefault]:
    """The roles' defaults: those this process knows when ``revision`` is theirs, else read now."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    known = _KNOWN_DEFAULTS.get(engine)
    if known is not None and revision is not None and known[0] == revision:
        return known[1]
    rows = list(session.scalars(select(NotificationRoleDefault)))
    defaults = {row.role: RoleDefault(frozenset(row.events), frozenset(row.channels)) for row in rows}
    _KNOWN_DEFAULTS[engine] = ((len(rows), max((row.updated_at for row in rows), default=None)), defaults)
    return defaults


def choices_of(session: Session, usernames: Iterable[str]) -> dict[str, Choice]:
    """The choices of active users (unknown or inactive names are left out)."""
    return audience(session, usernames, ())[0]


def audience(
    session: Session, usernames: Iterable[str], roles: Iterable[str]
) -> tuple[dict[str, Choice], dict[str, list[str]]]:
    """The choices of the named active users and of every active holder of ``roles``, and who holds
    which of ``roles`` — in one query (the users with their roles and own choices, and the roles'
    defaults' revision), and a second only when the roles' defaults changed since this process read them."""
    names, wanted = sorted(set(usernames)), sorted(set(roles))
    if not names and not wanted:
        return {}, {}
    holders_of = select(UserRole.user_id).where(UserRole.role.in_(wanted))
    rows = session.execute(
        select(User.username, User.language, UserRole.role, NotificationPreference, *revision_columns())
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .outerjoin(NotificationPreference, NotificationPreference.username == User.username)
        .where(User.active.is_(True), or_(User.username.in_(names), User.id.in_(holders_of)))
        .order_by(User.username)
    ).all()
    people: dict[str, tuple[str | None, NotificationPreference | None, set[str]]] = {}
    for username, language, role, own, _count, _last in rows:
        people.setdefault(username, (language, own, set()))[2].update([role] if role else [])
    defaults = (
        role_defaults(session, (rows[0][4] or 0, rows[0][5]))
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
    # Every save moves the revision processes check their known defaults by: the rows are locked
    # first, so saves take turns, and each is stamped later than the last one saved.
    session.execute(
        update(NotificationRoleDefault)
        .values(updated_at=NotificationRoleDefault.updated_at)
        .execution_options(synchronize_session=False)
    )
    last = session.scalar(select(func.max(NotificationRoleDefault.updated_at)))
    now = clock.now()
    if last is not None and now <= last:
        now = last + timedelta(microseconds=1)
    row = session.get(NotificationRoleDefault, role) or NotificationRoleDefault(role=role)
    row.events, row.channels = chosen_events, chosen_channels
    row.updated_by, row.updated_at = updated_by, now
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
