"""Index audit events by action and element, for the KPIs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_event_action_element", "event", ["action", "element_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_action_element", table_name="event")
