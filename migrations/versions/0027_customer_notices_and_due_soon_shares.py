"""The company's notices to customers, and the due-soon share per process

Revision ID: 0027
Revises: 0023
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_notice_setting",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("name_technician", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "due_soon_share",
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process_key"),
    )


def downgrade() -> None:
    op.drop_table("due_soon_share")
    op.drop_table("customer_notice_setting")
