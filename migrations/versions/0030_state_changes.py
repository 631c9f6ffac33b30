"""A case's workflow state is kept as a snapshot plus the changes each command saved since

A command appends what it changed (``state_change``) instead of rewriting the whole state, and
the case's row counts the changes since its snapshot. Existing cases keep their state as their
snapshot, with no changes yet. Going back folds each case's changes into its snapshot first.

Revision ID: 0030
Revises: 0031
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0031"
branch_labels = None
depends_on = None

#: Cases folded per round trip on the way back.
BATCH = 200


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("state_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("state_changes", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "state_change",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "seq"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE state_change ALTER COLUMN body SET STORAGE EXTERNAL")


def downgrade() -> None:
    from engine.store.compressed_text import LEVEL, decompress_text
    from engine.store.state_delta import materialize
    from engine.store.state_store import change_texts

    bind = op.get_bind()
    read = sa.text(
        "SELECT id, state FROM process_instance WHERE state_changes > 0 AND id > :after ORDER BY id LIMIT "
        f"{BATCH}"
    )
    changes = sa.text("SELECT body FROM state_change WHERE instance_id = :id ORDER BY seq")
    write = sa.text("UPDATE process_instance SET state = :state WHERE id = :id")
    after = -1
    while rows := bind.execute(read, {"after": after}).all():
        for case_id, snapshot in rows:
            snapshot_text = decompress_text(snapshot)
            bodies = [bytes(row[0]) for row in bind.execute(changes, {"id": case_id})]
            text = materialize(snapshot_text, change_texts(snapshot_text, bodies))
            bind.execute(write, {"id": case_id, "state": zlib.compress(text.encode("utf-8"), LEVEL)})
        after = rows[-1][0]
    op.drop_table("state_change")
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("state_changes")
        batch.drop_column("state_seq")
