"""Drop ix_task_state_assignee_due: ix_task_assigned begins with the same columns

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-07 18:40:00

``ix_task_assigned`` (state, assignee, due_at, instance_id) answers every lookup and order
``ix_task_state_assignee_due`` (state, assignee, due_at) did; each task insert and update wrote
an entry into both.
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_task_state_assignee_due", table_name="task")


def downgrade() -> None:
    op.create_index("ix_task_state_assignee_due", "task", ["state", "assignee", "due_at"], unique=False)
