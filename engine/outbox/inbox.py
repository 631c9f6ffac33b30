"""The bell: a person's in-app notifications, their unread count, and marking them read."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.outbox.models import Notification


def unread_count(session: Session, username: str) -> int:
    """How many in-app notifications ``username`` has not seen (one index-only count)."""
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.recipient == username,
                Notification.medium == "inapp",
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def latest(session: Session, username: str, limit: int = 50) -> list[Notification]:
    """The newest in-app notifications of ``username``."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.recipient == username, Notification.medium == "inapp")
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, username: str, up_to: int) -> int:
    """Mark the in-app notifications of ``username`` up to id ``up_to`` read; return how many."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.recipient == username,
            Notification.medium == "inapp",
            Notification.read_at.is_(None),
            Notification.id <= up_to,
        )
        .values(read_at=clock.now())
    )
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
