"""The audit chain's hashes are stored as their 32 bytes instead of 64 hex digits

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08 04:00:00

Every audit event holds its own SHA-256 and its predecessor's, and a case's row the last one of
its chain: as text they took 130 bytes of every event row. Python still sees hex digits
(``engine.store.models.HexDigest``). PostgreSQL converts the columns in place; on SQLite, which
cannot change a column's type, each column is replaced by a new one filled a batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

#: The hash columns, by table.
COLUMNS = {"event": ("prev_hash", "hash"), "process_instance": ("audit_last_hash",)}
#: Rows read and written per round trip.
BATCH = 5_000

Stored = str | bytes | memoryview | None


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        if bind.dialect.name == "postgresql":
            changes = ", ".join(f"ALTER COLUMN {c} TYPE bytea USING decode({c}, 'hex')" for c in columns)
            op.execute(f"ALTER TABLE {table} {changes}")
        else:
            _replace(bind, table, columns, "BLOB", _binary)


def downgrade() -> None:
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        if bind.dialect.name == "postgresql":
            changes = ", ".join(
                f"ALTER COLUMN {c} TYPE varchar(64) USING encode({c}, 'hex')" for c in columns
            )
            op.execute(f"ALTER TABLE {table} {changes}")
        else:
            _replace(bind, table, columns, "VARCHAR(64)", _hex)


def _replace(
    bind: sa.Connection, table: str, columns: tuple[str, ...], kind: str, change: Callable[[Stored], Stored]
) -> None:
    """Give each of ``columns`` the type ``kind`` on SQLite: a new column, filled, takes its name."""
    for column in columns:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column}_new {kind}")
    read = sa.text(
        f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}"
    )
    write = sa.text(f"UPDATE {table} SET {', '.join(f'{c}_new = :{c}' for c in columns)} WHERE id = :id")
    after = -1
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(
            write,
            [
                {"id": row[0], **{c: change(value) for c, value in zip(columns, row[1:], strict=True)}}
                for row in rows
            ],
        )
        after = rows[-1][0]
    for column in columns:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_new TO {column}")


def _binary(stored: Stored) -> bytes | None:
    if stored is None:
        return None
    return bytes.fromhex(stored) if isinstance(stored, str) else bytes(stored)


def _hex(stored: Stored) -> str | None:
    if stored is None:
        return None
    return stored if isinstance(stored, str) else bytes(stored).hex()
