"""KPI read model: per-case facts and follow-up cards, refreshed by case version

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_event_instance_action", "event", ["instance_id", "action", "element_id"], unique=False
    )
    op.drop_index("ix_event_instance_id", table_name="event")
    op.create_index(
        "ix_instance_version",
        "process_instance",
        ["id", "lock_version", "status", "process_key", "parent_instance_id", "ended_at"],
        unique=False,
    )
    op.create_table(
        "kpi_case",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("seen_version", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_month", sa.String(length=7), nullable=True),
        sa.Column("technician", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=128), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("closure_breached", sa.Boolean(), nullable=False),
        sa.Column("complained", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_table(
        "kpi_follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("rating_attitude", sa.Boolean(), nullable=True),
        sa.Column("rating_technique", sa.Boolean(), nullable=True),
        sa.Column("rating_arrival_time", sa.Boolean(), nullable=True),
        sa.Column("rating_promises", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["kpi_case.instance_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kpi_follow_up_instance_id", "kpi_follow_up", ["instance_id"], unique=False)
    op.create_table(
        "kpi_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("kpi_state")
    op.drop_index("ix_kpi_follow_up_instance_id", table_name="kpi_follow_up")
    op.drop_table("kpi_follow_up")
    op.drop_table("kpi_case")
    op.drop_index("ix_instance_version", table_name="process_instance")
    op.create_index("ix_event_instance_id", "event", ["instance_id"], unique=False)
    op.drop_index("ix_event_instance_action", table_name="event")
