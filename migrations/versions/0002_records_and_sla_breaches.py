"""records and sla breaches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:27:54.937814
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("licence_number", sa.String(length=128), nullable=True),
        sa.Column("address", sa.String(length=512), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("contact", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("key_customer", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sales_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_number", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=256), nullable=False),
        sa.Column("specification", sa.String(length=256), nullable=True),
        sa.Column("registration_number", sa.String(length=128), nullable=True),
        sa.Column("manufacturer", sa.String(length=256), nullable=True),
        sa.Column("batch_number", sa.String(length=128), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("sale_date", sa.Date(), nullable=False),
        sa.Column("purchaser_name", sa.String(length=256), nullable=False),
        sa.Column("purchaser_licence", sa.String(length=128), nullable=True),
        sa.Column("purchaser_address", sa.String(length=512), nullable=True),
        sa.Column("purchaser_contact", sa.String(length=128), nullable=True),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_file", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_number", "line_number"),
    )
    with op.batch_alter_table("sales_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_sales_ledger_batch", ["batch_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_ledger_purchaser_name"), ["purchaser_name"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("serial_number", sa.String(length=128), nullable=True),
        sa.Column("registration_number", sa.String(length=128), nullable=True),
        sa.Column("sale_date", sa.Date(), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("warranty_end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_product_serial", ["serial_number"], unique=False)

    op.create_table(
        "maintenance_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("renewal_notice_instance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.ForeignKeyConstraint(
            ["renewal_notice_instance_id"],
            ["process_instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("maintenance_contract", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_contract_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_maintenance_contract_ends_on"), ["ends_on"], unique=False)

    op.create_table(
        "service_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_record_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_record_product_id"), ["product_id"], unique=False)

    op.create_table(
        "sla_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("sla", sa.String(length=64), nullable=False),
        sa.Column("element_id", sa.String(length=256), nullable=False),
        sa.Column("task_element_id", sa.String(length=256), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["process_instance.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sla_breach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_breach_breached_at"), ["breached_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sla_breach_instance_id"), ["instance_id"], unique=False)

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            batch_op.f("ix_process_instance_parent_instance_id"), ["parent_instance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_instance_parent_instance_id"))
        batch_op.drop_column("late")

    with op.batch_alter_table("sla_breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_breach_instance_id"))
        batch_op.drop_index(batch_op.f("ix_sla_breach_breached_at"))

    op.drop_table("sla_breach")
    with op.batch_alter_table("service_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_record_product_id"))
        batch_op.drop_index(batch_op.f("ix_service_record_instance_id"))

    op.drop_table("service_record")
    with op.batch_alter_table("maintenance_contract", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_contract_ends_on"))
        batch_op.drop_index(batch_op.f("ix_maintenance_contract_customer_id"))

    op.drop_table("maintenance_contract")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_serial")
        batch_op.drop_index(batch_op.f("ix_product_customer_id"))

    op.drop_table("product")
    with op.batch_alter_table("sales_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_ledger_purchaser_name"))
        batch_op.drop_index("ix_sales_ledger_batch")

    op.drop_table("sales_ledger")
    op.drop_table("customer")
