"""Kept records: document templates, issued documents, retention policy, legal holds, purge tombstones

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-07 00:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("saved_by", sa.String(length=64), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_index("ix_document_template_name", "document_template", ["name"])
    op.create_table(
        "issued_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=96), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("business_number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("template_name", sa.String(length=64), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("template_sha256", sa.String(length=64), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("business_number", "kind", "subject", "version"),
    )
    op.create_index("ix_issued_document_instance_id", "issued_document", ["instance_id"])
    op.create_index("ix_issued_document_business_number", "issued_document", ["business_number"])
    op.create_table(
        "retention_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_kind", sa.String(length=32), nullable=False),
        sa.Column("process_key", sa.String(length=128), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("years_past_expiry", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=256), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_kind", "process_key"),
    )
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_number", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_hold_business_number", "legal_hold", ["business_number"])
    op.create_table(
        "purge_tombstone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_number", sa.String(length=32), nullable=False),
        sa.Column("purged_by", sa.String(length=64), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_purge_tombstone_business_number", "purge_tombstone", ["business_number"])


def downgrade() -> None:
    op.drop_index("ix_purge_tombstone_business_number", table_name="purge_tombstone")
    op.drop_table("purge_tombstone")
    op.drop_index("ix_legal_hold_business_number", table_name="legal_hold")
    op.drop_table("legal_hold")
    op.drop_table("retention_policy")
    op.drop_index("ix_issued_document_business_number", table_name="issued_document")
    op.drop_index("ix_issued_document_instance_id", table_name="issued_document")
    op.drop_table("issued_document")
    op.drop_index("ix_document_template_name", table_name="document_template")
    op.drop_table("document_template")
