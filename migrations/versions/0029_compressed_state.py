"""A case's workflow state is stored zlib-compressed (binary) instead of as text

Every command rewrites the state and each old copy stays in the table until vacuum; compressed,
a copy takes about half of what PostgreSQL's own compression left. The rows are converted in
Python, a batch at a time; PostgreSQL keeps the column out of line without compressing it
again (``STORAGE EXTERNAL``). On SQLite the column is replaced (SQLite cannot change a
column's type), so it carries an empty default there.

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0026"
branch_labels = None
depends_on = None

#: Rows read and written per round trip (a state is some tens of kilobytes).
BATCH = 200
#: The compression level of ``engine.store.compressed_text`` when this migration was written.
LEVEL = 4

Stored = str | bytes | memoryview


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE process_instance ALTER COLUMN state TYPE bytea USING convert_to(state, 'UTF8')"
        )
        op.execute("ALTER TABLE process_instance ALTER COLUMN state SET STORAGE EXTERNAL")
        _convert(bind, "state", "state", _compress)
    else:
        op.execute("ALTER TABLE process_instance ADD COLUMN state_stored BLOB NOT NULL DEFAULT x''")
        _convert(bind, "state", "state_stored", _compress)
        op.execute("ALTER TABLE process_instance DROP COLUMN state")
        op.execute("ALTER TABLE process_instance RENAME COLUMN state_stored TO state")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _convert(bind, "state", "state", lambda stored: _text(stored).encode("utf-8"))
        op.execute(
            "ALTER TABLE process_instance ALTER COLUMN state TYPE text USING convert_from(state, 'UTF8')"
        )
        op.execute("ALTER TABLE process_instance ALTER COLUMN state SET STORAGE EXTENDED")
    else:
        op.execute("ALTER TABLE process_instance ADD COLUMN state_text TEXT NOT NULL DEFAULT ''")
        _convert(bind, "state", "state_text", _text)
        op.execute("ALTER TABLE process_instance DROP COLUMN state")
        op.execute("ALTER TABLE process_instance RENAME COLUMN state_text TO state")


def _convert(bind: sa.Connection, source: str, target: str, change: Callable[[Stored], str | bytes]) -> None:
    """Write ``change(source)`` into ``target`` for every row, a batch of ids at a time."""
    read = sa.text(f"SELECT id, {source} FROM process_instance WHERE id > :after ORDER BY id LIMIT {BATCH}")
    write = sa.text(f"UPDATE process_instance SET {target} = :value WHERE id = :id")
    after = -1
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(write, [{"id": row[0], "value": change(row[1])} for row in rows])
        after = rows[-1][0]


def _compress(stored: Stored) -> bytes:
    return zlib.compress(_text(stored).encode("utf-8"), LEVEL)


def _text(stored: Stored) -> str:
    """The state as text, from text, UTF-8 bytes or a zlib stream of them."""
    if isinstance(stored, str):
        return stored
    raw = bytes(stored)
    if raw[:1] == b"\x78":
        return zlib.decompress(raw).decode("utf-8")
    return raw.decode("utf-8")
