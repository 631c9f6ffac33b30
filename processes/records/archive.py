"""What the archive pages read: customers with their history, products with theirs, the ledger filtered.

A customer's page gathers what the company knows of it (客户档案 [SPEC §3; seed 000]): its
products, every case registered in its name, the complaints among them, the ratings of its
follow-up visits (回访) and its maintenance contracts. A product's page is its service history.
The ledger is filtered the way the billing clerk and the recall look sales up: by product, batch,
purchaser and sale date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from engine.store.models import Event, ProcessInstance
from processes.records.models import (
    Customer,
    CustomerVisit,
    MaintenanceContract,
    Product,
    SalesLedgerEntry,
    ServiceRecord,
)

#: The complaint process (its cases are listed apart on a customer's page).
COMPLAINT = "complaint"
#: The keys a follow-up visit (回访) rates the service under.
RATING_KEYS = ("rating_attitude", "rating_technique", "rating_arrival_time", "rating_promises")
PAGE_SIZE = 50


@dataclass
class Page:
    """One page of a list, with the total count for paging."""

    items: list[Any]
    total: int
    page: int
    per_page: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _paged(session: Session, query: Any, order: Sequence[Any], page: int, per_page: int = PAGE_SIZE) -> Page:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)))
    return Page(items, total, page, per_page)


def _containing(query: Select[Any], q: str, columns: tuple[Any, ...]) -> Select[Any]:
    """``query`` narrowed to rows where one of ``columns`` contains ``q`` (all rows for a blank ``q``)."""
    q = q.strip()
    if not q:
        return query
    pattern = _like(q)
    return query.where(or_(*(column.like(pattern, escape="\\") for column in columns)))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- customers -------------------------------------------------------------------------------------


def search_customers(session: Session, q: str = "", page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """Customers whose name, phone, contact, address or licence contains ``q``, by name."""
    columns = (Customer.name, Customer.phone, Customer.contact, Customer.address, Customer.licence_number)
    query = _containing(select(Customer), q, columns)
    return _paged(session, query, (Customer.name, Customer.id), page, per_page)


@dataclass
class Rating:
    """One follow-up visit's ratings of a case (criterion -> stored value)."""

    instance: ProcessInstance
    at: Any
    values: dict[str, str]


@dataclass
class VisitEntry:
    """One monthly call-back or fixed-point visit recorded for the customer, with its case."""

    instance: ProcessInstance
    kind: str
    summary: str
    recorded_at: Any


@dataclass
class CustomerProfile:
    """Everything on one customer's page."""

    customer: Customer
    products: list[Product]
    cases: list[ProcessInstance]
    complaints: list[ProcessInstance]
    ratings: list[Rating]
    contracts: list[MaintenanceContract]
    ledger_lines: int = 0
    visits: list[VisitEntry] = field(default_factory=list)


def customer_profile(session: Session, customer_id: int) -> CustomerProfile | None:
    """Return a customer with its products, cases, complaints, ratings and contracts (None if unknown)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    products = list(
        session.scalars(select(Product).where(Product.customer_id == customer_id).order_by(Product.id))
    )
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.customer_name == customer.name)
            .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        )
    )
    contracts = list(
        session.scalars(
            select(MaintenanceContract)
            .where(MaintenanceContract.customer_id == customer_id)
            .order_by(MaintenanceContract.ends_on.desc())
        )
    )
    ledger_lines = (
        session.scalar(
            select(func.count())
            .select_from(SalesLedgerEntry)
            .where(SalesLedgerEntry.purchaser_name == customer.name)
        )
        or 0
    )
    return CustomerProfile(
        customer=customer,
        products=products,
        cases=[i for i in instances if i.process_key != COMPLAINT],
        complaints=[i for i in instances if i.process_key == COMPLAINT],
        ratings=_ratings(session, instances),
        contracts=contracts,
        ledger_lines=ledger_lines,
        visits=_visits(session, customer_id),
    )


def _visits(session: Session, customer_id: int) -> list[VisitEntry]:
    return [
        VisitEntry(instance, visit.kind, visit.summary, visit.recorded_at)
        for visit, instance in session.execute(
            select(CustomerVisit, ProcessInstance)
            .join(ProcessInstance, ProcessInstance.id == CustomerVisit.instance_id)
            .where(CustomerVisit.customer_id == customer_id)
            .order_by(CustomerVisit.recorded_at.desc(), CustomerVisit.id.desc())
        )
    ]


def _ratings(session: Session, instances: Sequence[ProcessInstance]) -> list[Rating]:
    by_id = {i.id: i for i in instances}
    if not by_id:
        return []
    ratings: list[Rating] = []
    for event in session.scalars(
        select(Event)
        .where(Event.action == "task_completed", Event.instance_id.in_(list(by_id)))
        .order_by(Event.id)
    ):
        data = (event.data or {}).get("data")
        if not isinstance(data, dict):
            continue
        values = {key: str(data[key]) for key in RATING_KEYS if data.get(key)}
        if values and event.instance_id is not None:
            ratings.append(Rating(by_id[event.instance_id], event.at, values))
    return ratings


def create_customer(session: Session, values: dict[str, Any], now: Any) -> Customer:
    """Add a customer to the archive (the caller checked the name is free) and flush."""
    customer = Customer(
        name=values["name"],
        phone=values.get("phone") or None,
        address=values.get("address") or None,
        contact=values.get("contact") or None,
        licence_number=values.get("licence_number") or None,
        region=values.get("region") or None,
        key_customer=bool(values.get("key_customer")),
        fixed_point_unit=bool(values.get("fixed_point_unit")),
        created_at=now,
    )
    session.add(customer)
    session.flush()
    return customer


def set_customer_classes(
    session: Session, customer_id: int, *, key_customer: bool, fixed_point_unit: bool
) -> Customer | None:
    """Mark a customer as 重点客户 and/or 定点单位 (None when unknown); the caller commits."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    customer.key_customer = key_customer
    customer.fixed_point_unit = fixed_point_unit
    session.flush()
    return customer


def customer_named(session: Session, name: str) -> Customer | None:
    """The customer of exactly this name, if the archive has it."""
    return session.scalar(select(Customer).where(Customer.name == name.strip()))


# --- products --------------------------------------------------------------------------------------


def search_products(
    session: Session, q: str = "", page: int = 1, per_page: int = PAGE_SIZE, customer_id: int | None = None
) -> Page:
    """Products whose model, name, serial or registration number (or customer) contains ``q``."""
    query = select(Product).outerjoin(Customer, Product.customer_id == Customer.id)
    if customer_id is not None:
        query = query.where(Product.customer_id == customer_id)
    columns = (Product.model, Product.name, Product.serial_number, Product.registration_number, Customer.name)
    query = _containing(query, q, columns)
    return _paged(session, query, (Product.model, Product.id), page, per_page)


@dataclass
class ServiceEntry:
    """One line of a product's service history: a case that concerned it."""

    instance: ProcessInstance
    summary: str | None = None
    recorded_at: Any = None


@dataclass
class ProductHistory:
    product: Product
    entries: list[ServiceEntry] = field(default_factory=list)
    contracts: list[MaintenanceContract] = field(default_factory=list)


def product_history(session: Session, product_id: int) -> ProductHistory | None:
    """A product with its service history: recorded service, and cases naming its serial or model."""
    product = session.get(Product, product_id)
    if product is None:
        return None
    entries: dict[int, ServiceEntry] = {}
    for record, instance in session.execute(
        select(ServiceRecord, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == ServiceRecord.instance_id)
        .where(ServiceRecord.product_id == product_id)
        .order_by(ServiceRecord.recorded_at.desc())
    ):
        entries[instance.id] = ServiceEntry(instance, record.summary, record.recorded_at)
    if product.customer is not None:
        for instance in session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.customer_name == product.customer.name,
                ProcessInstance.product == product.model,
            )
            .order_by(ProcessInstance.started_at.desc())
        ):
            entries.setdefault(instance.id, ServiceEntry(instance))
    contracts = list(
        session.scalars(
            select(MaintenanceContract)
            .where(MaintenanceContract.product_id == product_id)
            .order_by(MaintenanceContract.ends_on.desc())
        )
    )
    ordered = sorted(entries.values(), key=lambda e: e.instance.started_at, reverse=True)
    return ProductHistory(product, ordered, contracts)


def contract_in_force(session: Session, product: Product, on: date) -> MaintenanceContract | None:
    """The maintenance contract covering this product (or its customer's every product) on a day."""
    if product.customer_id is None:
        return None
    return session.scalar(
        select(MaintenanceContract)
        .where(
            MaintenanceContract.customer_id == product.customer_id,
            or_(MaintenanceContract.product_id == product.id, MaintenanceContract.product_id.is_(None)),
            MaintenanceContract.starts_on <= on,
            MaintenanceContract.ends_on >= on,
        )
        .order_by(MaintenanceContract.ends_on.desc())
        .limit(1)
    )


# --- the sales ledger --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilter:
    """What the ledger page filters by: product (name or specification), batch, purchaser, sale dates."""

    product: str = ""
    batch: str = ""
    purchaser: str = ""
    sold_from: date | None = None
    sold_to: date | None = None
    page: int = 1


def ledger_page(session: Session, f: LedgerFilter, per_page: int = PAGE_SIZE) -> Page:
    """Ledger lines matching the filter, newest sale first."""
    query = select(SalesLedgerEntry)
    if f.product.strip():
        pattern = _like(f.product.strip())
        query = query.where(
            or_(
                SalesLedgerEntry.product_name.like(pattern, escape="\\"),
                SalesLedgerEntry.specification.like(pattern, escape="\\"),
            )
        )
    if f.batch.strip():
        query = query.where(SalesLedgerEntry.batch_number.like(_like(f.batch.strip()), escape="\\"))
    if f.purchaser.strip():
        query = query.where(SalesLedgerEntry.purchaser_name.like(_like(f.purchaser.strip()), escape="\\"))
    if f.sold_from:
        query = query.where(SalesLedgerEntry.sale_date >= f.sold_from)
    if f.sold_to:
        query = query.where(SalesLedgerEntry.sale_date <= f.sold_to)
    order = (
        SalesLedgerEntry.sale_date.desc(),
        SalesLedgerEntry.document_number,
        SalesLedgerEntry.line_number,
    )
    return _paged(session, query, order, f.page, per_page)
