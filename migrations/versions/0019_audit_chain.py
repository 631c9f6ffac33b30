"""A tamper-evident audit trail (each event carries its predecessor's hash; chain heads, daily anchors); signatures

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-07 00:45:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from engine.audit.hashing import chain_of, event_digest

revision = "0019"
down_revision = "0020"
branch_labels = None
depends_on = None

_event = sa.table(
    "event",
    sa.column("id", sa.Integer()),
    sa.column("instance_id", sa.Integer()),
    sa.column("task_id", sa.String()),
    sa.column("element_id", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    audit_chain = op.create_table(
        "audit_chain",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "audit_day_head",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("chains", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("element_id", sa.String(length=256), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("field_key", sa.String(length=128), nullable=True),
        sa.Column("meaning", sa.String(length=32), nullable=True),
        sa.Column("signer_name", sa.String(length=128), nullable=False),
        sa.Column("signer_username", sa.String(length=64), nullable=True),
        sa.Column("collected_by", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("signed_data", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signature_instance", "signature", ["instance_id", "signed_at"])
    _link_existing_events(audit_chain)


def _link_existing_events(audit_chain: sa.Table) -> None:
    """Chain the events recorded before this revision, in the order they were written."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_event).order_by(_event.c.instance_id, _event.c.id)).all()
    heads: dict[str, tuple[int, str, int]] = {}
    updates: list[dict[str, object]] = []
    for row in rows:
        chain = chain_of(row.instance_id)
        previous = heads.get(chain)
        prev_hash = previous[1] if previous else None
        digest = event_digest(
            instance_id=row.instance_id,
            task_id=row.task_id,
            element_id=row.element_id,
            actor=row.actor,
            action=row.action,
            at=row.at,
            data=row.data,
            prev_hash=prev_hash,
        )
        updates.append({"row_id": row.id, "prev_hash": prev_hash, "hash": digest})
        heads[chain] = (row.id, digest, (previous[2] if previous else 0) + 1)
    if updates:
        bind.execute(
            _event.update()
            .where(_event.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")),
            updates,
        )
    now = datetime.now(UTC)
    if heads:
        op.bulk_insert(
            audit_chain,
            [
                {
                    "chain": chain,
                    "last_event_id": last,
                    "last_hash": digest,
                    "length": length,
                    "updated_at": now,
                }
                for chain, (last, digest, length) in heads.items()
            ],
        )


def downgrade() -> None:
    op.drop_index("ix_signature_instance", table_name="signature")
    op.drop_table("signature")
    op.drop_table("audit_day_head")
    op.drop_table("audit_chain")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
