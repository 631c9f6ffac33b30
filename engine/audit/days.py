"""Daily anchors: once a day is over, a hash over the last event of every chain that moved that day.

A day is sealed a little after midnight UTC (``GRACE`` lets transactions that began before
midnight commit first). Rewriting any chain consistently afterwards would still change the
day's anchor, which `verify` recomputes; an operator who copies the anchors elsewhere
(``afterflow audit seal`` prints them) can prove the trail as of any sealed day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.hashing import chain_of, day_digest
from engine.audit.tables import AuditDayHead
from engine.store.database import upsert
from engine.store.models import Event

#: How long after midnight (UTC) a day waits before it is sealed.
GRACE = timedelta(minutes=15)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of ``day`` (UTC) and of the day after."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def heads_of_day(session: Session, day: date) -> list[tuple[str, int, str]]:
    """``(chain, last event id, its hash)`` for every chain with an event on ``day``."""
    start, end = day_bounds(day)
    last = (
        select(func.max(Event.id).label("id"))
        .where(Event.at >= start, Event.at < end)
        .group_by(Event.instance_id)
        .subquery()
    )
    rows = session.execute(select(Event.instance_id, Event.id, Event.hash).join(last, last.c.id == Event.id))
    return [(chain_of(instance_id), event_id, digest or "") for instance_id, event_id, digest in rows]


def seal_closed_days(session: Session, now: datetime | None = None) -> list[AuditDayHead]:
    """Seal every closed day not sealed yet that has events; return the new anchors."""
    now = now or clock.now()
    closed_before = (now - GRACE).astimezone(UTC).date()
    last_sealed = session.scalar(select(func.max(AuditDayHead.day)))
    if last_sealed is not None:
        day = date.fromisoformat(last_sealed) + timedelta(days=1)
    else:
        first = session.scalar(select(func.min(Event.at)))
        if first is None:
            return []
        day = first.astimezone(UTC).date()
    sealed: list[AuditDayHead] = []
    while day < closed_before:
        heads = heads_of_day(session, day)
        if heads:
            anchor = AuditDayHead(
                day=day.isoformat(), hash=day_digest(heads), chains=len(heads), sealed_at=now
            )
            session.execute(
                upsert(session, AuditDayHead)
                .values(day=anchor.day, hash=anchor.hash, chains=anchor.chains, sealed_at=now)
                .on_conflict_do_nothing()
            )
            sealed.append(anchor)
        day += timedelta(days=1)
    return sealed
