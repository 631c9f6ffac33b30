"""Business numbers such as ``RO-20261122-0001``: prefix, company-local date, daily sequence."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.models import BusinessNumberCounter


def next_business_number(session: Session, prefix: str, at: datetime, tz: tzinfo) -> str:
    """Hand out the next number of the day for a prefix (atomic under concurrent starts)."""
    day = at.astimezone(tz).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    table = BusinessNumberCounter.__table__
    assert isinstance(table, Table)
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"business numbers need PostgreSQL or SQLite, not {dialect}")
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = (
        insert.values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    sequence = int(session.execute(statement).scalar_one())
    return f"{prefix}-{day}-{sequence:04d}"
