"""The bell: a person's in-app notifications, their unread count, and marking them read."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.outbox.models import Notification


def _mine(username: str, unread_only: bool = False) -> list[ColumnElement[bool]]:
    """The conditions that pick ``username``'s in-app notifications (only the unread ones)."""
    mine = [Notification.recipient == username, Notification.medium == "inapp"]
    if unread_only:
        mine.append(Notification.read_at.is_(None))
    return mine


def unread_count(session: Session, username: str) -> int:
    """How many in-app notifications ``username`` has not seen (one index-only count)."""
    return int(session.scalar(select(func.count(Notification.id)).where(*_mine(username, True))) or 0)


def latest(session: Session, username: str, limit: int = 50) -> list[Notification]:
    """The newest in-app notifications of ``username``."""
    return list(
        session.scalars(
            select(Notification).where(*_mine(username)).order_by(Notification.id.desc()).limit(limit)
        )
    )


def page(
    session: Session, username: str, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int]:
    """One page of the in-app notifications of ``username``, newest first, and how many there are."""
    mine = _mine(username, unread_only)
    total = int(session.scalar(select(func.count(Notification.id)).where(*mine)) or 0)
    rows = session.scalars(
        select(Notification).where(*mine).order_by(Notification.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


def one_of(session: Session, username: str, notification_id: int) -> Notification | None:
    """The in-app notification ``notification_id`` if it is one of ``username``'s, else None."""
    row = session.get(Notification, notification_id)
    if row is None or row.recipient != username or row.medium != "inapp":
        return None
    return row


def mark_one_read(session: Session, username: str, notification_id: int) -> Notification | None:
    """Mark one of ``username``'s in-app notifications read (kept as first read); None if not theirs."""
    row = one_of(session, username, notification_id)
    if row is not None and row.read_at is None:
        row.read_at = clock.now()
    return row


def mark_read(session: Session, username: str, up_to: int | None = None) -> int:
    """Mark the unread in-app notifications of ``username`` read (those up to id ``up_to`` when
    given); return how many."""
    unread = _mine(username, True)
    if up_to is not None:
        unread.append(Notification.id <= up_to)
    result = session.execute(update(Notification).where(*unread).values(read_at=clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def outbox_counts(session: Session) -> dict[str, int]:
    """Notifications waiting to be sent and given up on (the operators' gauges)."""
    rows = session.execute(
        select(Notification.state, func.count(Notification.id))
        .where(Notification.state.in_(("pending", "failed")))
        .group_by(Notification.state)
    )
    counts = {"pending": 0, "failed": 0}
    counts.update({state: int(n) for state, n in rows})
    return counts


def mark_all_read(session: Session, username: str) -> int:
    """Mark every in-app notification of ``username`` read; return how many were unread."""
    return mark_read(session, username)
