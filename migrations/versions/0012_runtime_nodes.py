"""Leases of running web processes, workers and runners, with the schema each serves

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-06 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runtime_node",
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("schema_revision", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_runtime_node_seen_at", "runtime_node", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_runtime_node_seen_at", table_name="runtime_node")
    op.drop_table("runtime_node")
