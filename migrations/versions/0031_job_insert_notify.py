"""PostgreSQL wakes the timer runners itself when a job row is inserted

Revision ID: 0031
Revises: 0028
Create Date: 2026-12-07 13:00:00

A trigger on ``job`` sends ``NOTIFY afterflow_timers`` for every new open job, in the
inserting transaction: the runners of every process hear of it when (and only if) that
transaction commits, and a command no longer sends the notification as a statement of its own.
PostgreSQL folds the notifications of one transaction into one. SQLite has no such channel;
its runners look at the job table every second.
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION afterflow_job_inserted() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('afterflow_timers', '');
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER job_insert_notify AFTER INSERT ON job FOR EACH ROW "
        "WHEN (NEW.done_at IS NULL) EXECUTE FUNCTION afterflow_job_inserted()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS job_insert_notify ON job")
    op.execute("DROP FUNCTION IF EXISTS afterflow_job_inserted()")
