"""Fixed-point units among the customers, and the visits and call-backs recorded for a customer

Revision ID: 0024
Revises: 0027
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: recreating the customer table would trip the products' foreign keys
    op.add_column(
        "customer", sa.Column("fixed_point_unit", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "customer_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_visit_customer_id", "customer_visit", ["customer_id"])
    op.create_index("ix_customer_visit_instance_id", "customer_visit", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_visit_instance_id", table_name="customer_visit")
    op.drop_index("ix_customer_visit_customer_id", table_name="customer_visit")
    op.drop_table("customer_visit")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("fixed_point_unit")
