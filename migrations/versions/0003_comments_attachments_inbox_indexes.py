"""comments, attachments and inbox indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:53:43.867654
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index("ix_attachment_instance_uploaded", ["instance_id", "uploaded_at"], unique=False)

    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index("ix_comment_instance_created", ["instance_id", "created_at"], unique=False)

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_offered", ["state", "role", "assignee", "due_at", "instance_id"], unique=False
        )
        batch_op.create_index(
            "ix_task_assigned", ["state", "assignee", "due_at", "instance_id"], unique=False
        )
        batch_op.create_index("ix_task_open_due", ["state", "due_at", "instance_id"], unique=False)
        batch_op.create_index(
            "ix_task_done", ["completed_by", "state", "completed_at", "due_at"], unique=False
        )

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_instance_list",
            ["status", "process_key", "priority", "business_number", "customer_name", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_list")

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_done")
        batch_op.drop_index("ix_task_open_due")
        batch_op.drop_index("ix_task_assigned")
        batch_op.drop_index("ix_task_offered")

    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index("ix_comment_instance_created")
    op.drop_table("comment")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_instance_uploaded")
    op.drop_table("attachment")
