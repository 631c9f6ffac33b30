"""The signatures kept on a case, where this schema has a ``signature`` table.

Retention counts them as records of their own kind and archive bundles carry them; both read the
table through the shared metadata, so kept records work the same with or without signatures.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine.store.database import Base

REQUIRED = {"id", "instance_id", "signed_at"}


def signature_table() -> Table | None:
    """The signature table, when the schema has one."""
    table = Base.metadata.tables.get("signature")
    return table if table is not None and set(table.c.keys()) >= REQUIRED else None


def signatures_of(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """Every signature row of a case, oldest first, each column by name (the image as bytes)."""
    table = signature_table()
    if table is None:
        return []
    rows = session.execute(select(table).where(table.c.instance_id == instance_id).order_by(table.c.id))
    return [dict(row._mapping) for row in rows]
