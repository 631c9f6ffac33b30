"""Business numbers such as ``RO-20261122-0001``: prefix, company-local date, daily sequence.

On PostgreSQL the counter is advanced in a short transaction of its own, committed at once,
so concurrent starts do not queue behind the counter row until each start commits (the row
lock would otherwise be held for the whole start). A start that then fails at the database
leaves a number unused — as a sequence would. SQLite has one writer at a time anyway: there
the counter moves inside the start's own transaction.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.store.database import table_of
from engine.store.models import BusinessNumberCounter


def next_business_number(session: Session, prefix: str, at: datetime, tz: tzinfo) -> str:
    """Hand out the next number of the day for a prefix (atomic under concurrent starts)."""
    day = at.astimezone(tz).strftime("%Y%m%d")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        with bind.execution_options(isolation_level="AUTOCOMMIT").connect() as own:
            sequence = _advance(own, prefix, day)
    else:
        sequence = _advance(session.connection(), prefix, day)
    return f"{prefix}-{day}-{sequence:04d}"


def _advance(conn: Connection, prefix: str, day: str) -> int:
    table = table_of(BusinessNumberCounter)
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return int(conn.execute(statement).scalar_one())
