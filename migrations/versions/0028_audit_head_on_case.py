"""The head of a case's audit chain kept on the case's row

Revision ID: 0028
Revises: 0029
Create Date: 2026-12-07 07:00:00

Every command locks and updates the case's row anyway; the head (last event's id and hash,
chain length) written in that UPDATE spares a row lock and an UPDATE per command. The heads of
existing cases move from ``audit_chain``; its rows of cases no longer there stay (a verifier
still compares them with what is left), as does the chain of no case.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0029"
branch_labels = None
depends_on = None

_case = sa.table(
    "process_instance",
    sa.column("id", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("audit_length", sa.Integer()),
    sa.column("audit_last_event_id", sa.Integer()),
    sa.column("audit_last_hash", sa.String()),
)
_chain = sa.table(
    "audit_chain",
    sa.column("chain", sa.String()),
    sa.column("last_event_id", sa.Integer()),
    sa.column("last_hash", sa.String()),
    sa.column("length", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _chain_name(case_id: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """``case:<id>``, the name of a case's chain, in SQL both databases read alike."""
    return sa.literal("case:", sa.String()) + sa.cast(case_id, sa.String(32))


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("audit_length", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("audit_last_event_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("audit_last_hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    own = _chain.c.chain == _chain_name(_case.c.id)

    def head(column: sa.ColumnClause[object]) -> sa.ScalarSelect[object]:
        return sa.select(column).where(own).scalar_subquery()

    bind.execute(
        _case.update()
        .where(sa.exists().where(own))
        .values(
            audit_length=head(_chain.c.length),
            audit_last_event_id=head(_chain.c.last_event_id),
            audit_last_hash=head(_chain.c.last_hash),
        )
    )
    bind.execute(_chain.delete().where(_chain.c.chain.in_(sa.select(_chain_name(_case.c.id)))))


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        _chain.insert().from_select(
            ["chain", "last_event_id", "last_hash", "length", "updated_at"],
            sa.select(
                _chain_name(_case.c.id),
                _case.c.audit_last_event_id,
                _case.c.audit_last_hash,
                _case.c.audit_length,
                _case.c.updated_at,
            ).where(_case.c.audit_length > 0),
        )
    )
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("audit_last_hash")
        batch.drop_column("audit_last_event_id")
        batch.drop_column("audit_length")
