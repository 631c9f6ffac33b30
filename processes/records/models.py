"""Business records that outlive a case: customers, products, contracts and the sales ledger.

客户档案, 产品档案 (with service history), 维保合同 and 销售记录 [SPEC §3; seeds 000, 003, 004].
Records are never deleted; a correction is a new value with the time it was made.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.database import Base
from engine.store.models import UTCDateTime


class Customer(Base):
    """客户档案: a customer (hospital, pharmacy, dealer, factory…)."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    licence_number: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(512))
    phone: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(32))
    key_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    #: 定点单位: visited every month by the service staff [000 篇一 二.3].
    fixed_point_unit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Product(Base):
    """产品档案: one delivered unit (by serial) or lot (by batch) and its warranty."""

    __tablename__ = "product"
    __table_args__ = (Index("ix_product_serial", "serial_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    model: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(256))
    serial_number: Mapped[str | None] = mapped_column(String(128))
    registration_number: Mapped[str | None] = mapped_column(String(128))
    sale_date: Mapped[date | None] = mapped_column(Date)
    invoice_date: Mapped[date | None] = mapped_column(Date)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    customer: Mapped[Customer | None] = relationship(lazy="joined")


class ServiceRecord(Base):
    """One entry of a product's service history: a closed case that concerned it."""

    __tablename__ = "service_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerVisit(Base):
    """One recorded visit or call-back to a customer made by a scheduled case (回访记录)."""

    __tablename__ = "customer_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    #: ``call_back`` (每月电话回访) or ``fixed_point_visit`` (定点单位每月服务).
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MaintenanceContract(Base):
    """维保合同: a maintenance contract in force between two dates."""

    __tablename__ = "maintenance_contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    renewal_notice_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    customer: Mapped[Customer] = relationship(lazy="joined")


class SalesLedgerEntry(Base):
    """销售记录: one line of the sales ledger, as kept by GSP / medical-device rules."""

    __tablename__ = "sales_ledger"
    __table_args__ = (
        Index("ix_sales_ledger_batch", "batch_number"),
        UniqueConstraint("document_number", "line_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_number: Mapped[str] = mapped_column(String(64))
    line_number: Mapped[int] = mapped_column(Integer, default=1)
    product_name: Mapped[str] = mapped_column(String(256))
    specification: Mapped[str | None] = mapped_column(String(256))
    registration_number: Mapped[str | None] = mapped_column(String(128))
    manufacturer: Mapped[str | None] = mapped_column(String(256))
    batch_number: Mapped[str] = mapped_column(String(128))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(32))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    sale_date: Mapped[date] = mapped_column(Date)
    purchaser_name: Mapped[str] = mapped_column(String(256), index=True)
    purchaser_licence: Mapped[str | None] = mapped_column(String(128))
    purchaser_address: Mapped[str | None] = mapped_column(String(512))
    purchaser_contact: Mapped[str | None] = mapped_column(String(128))
    cold_chain: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_file: Mapped[str | None] = mapped_column(String(256))
