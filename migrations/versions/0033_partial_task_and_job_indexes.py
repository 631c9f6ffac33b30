"""The inbox and due-job indexes hold the rows of one state only

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-08 03:00:00

A task row is inserted open and updated once when it ends; a job row once when it fires or is
withdrawn. A full index keeps an entry for each state a row passed through, so the indexes that
only the open tasks' tabs and the due jobs' scan read grew with every task and timer ever done.
Each now holds the rows of its state. The state moves to the end of the task indexes' columns: the
queries that name it still find every column they read in the index.


The indexes and the rows they hold:

- ``ix_task_offered``: open tasks no one has taken, by role and due time;
- ``ix_task_assigned``, ``ix_task_open_due``: open tasks;
- ``ix_task_done``: completed tasks;
- ``ix_job_open_due``: jobs not done.

``ix_task_state_role_due`` (``ix_task_offered`` now begins with the same columns) and
``ix_task_completed_by`` (``ix_task_done`` does) are dropped.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_OPEN = "state = 'open'"
_PARTIAL = {
    "task": [
        (
            "ix_task_offered",
            ["role", "due_at", "instance_id", "assignee", "state"],
            f"{_OPEN} AND assignee IS NULL",
        ),
        ("ix_task_assigned", ["assignee", "due_at", "instance_id", "state"], _OPEN),
        ("ix_task_open_due", ["due_at", "instance_id", "state"], _OPEN),
        ("ix_task_done", ["completed_by", "completed_at", "due_at", "state"], "state = 'completed'"),
    ],
    "job": [("ix_job_open_due", ["due_at"], "done_at IS NULL")],
}
_FULL = {
    "task": [
        ("ix_task_offered", ["state", "role", "assignee", "due_at", "instance_id"]),
        ("ix_task_assigned", ["state", "assignee", "due_at", "instance_id"]),
        ("ix_task_open_due", ["state", "due_at", "instance_id"]),
        ("ix_task_done", ["completed_by", "state", "completed_at", "due_at"]),
    ],
    "job": [("ix_job_open_due", ["done_at", "due_at"])],
}
_DROPPED = [
    ("ix_task_state_role_due", ["state", "role", "due_at"]),
    ("ix_task_completed_by", ["completed_by", "completed_at"]),
]


def upgrade() -> None:
    for name, _columns in _DROPPED:
        op.drop_index(name, table_name="task")
    for table, indexes in _PARTIAL.items():
        for name, columns, condition in indexes:
            op.drop_index(name, table_name=table)
            where = text(condition)
            op.create_index(name, table, columns, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for table, indexes in _FULL.items():
        for name, columns in indexes:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)
    for name, columns in _DROPPED:
        op.create_index(name, "task", columns)
