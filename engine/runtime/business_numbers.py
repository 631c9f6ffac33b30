"""Business numbers such as ``RO-20261122-0001``: prefix, company-local date, daily sequence."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from engine.store.database import table_of, upsert
from engine.store.models import BusinessNumberCounter


def next_business_number(session: Session, prefix: str, at: datetime, tz: tzinfo) -> str:
    """Hand out the next number of the day for a prefix (atomic under concurrent starts)."""
    day = at.astimezone(tz).strftime("%Y%m%d")
    table = table_of(BusinessNumberCounter)
    statement = (
        upsert(session, BusinessNumberCounter)
        .values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    sequence = int(session.execute(statement).scalar_one())
    return f"{prefix}-{day}-{sequence:04d}"
