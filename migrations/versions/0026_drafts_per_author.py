"""Drafts per author: each process owner keeps their own draft of a process, with a heartbeat

The shared drafts (one per process) move to the person who saved them last.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_key", "author", name="uq_process_draft_author"),
    )
    op.create_index("ix_process_draft_process_key", "process_draft", ["process_key"])
    # A shared draft becomes the draft of its last saver, started when it was last saved.
    op.execute(
        "INSERT INTO process_draft "
        "(process_key, author, files, base_version, started_at, updated_at, seen_at) "
        "SELECT process_key, author, files, base_version, updated_at, updated_at, NULL "
        "FROM definition_draft"
    )
    op.drop_table("definition_draft")


def downgrade() -> None:
    op.create_table(
        "definition_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_key"),
    )
    # One draft per process again: the latest saved of each process's drafts is kept.
    op.execute(
        "INSERT INTO definition_draft (process_key, files, base_version, author, updated_at) "
        "SELECT d.process_key, d.files, d.base_version, d.author, d.updated_at FROM process_draft d "
        "WHERE d.id = (SELECT e.id FROM process_draft e WHERE e.process_key = d.process_key "
        "ORDER BY e.updated_at DESC, e.id DESC LIMIT 1)"
    )
    op.drop_index("ix_process_draft_process_key", table_name="process_draft")
    op.drop_table("process_draft")
