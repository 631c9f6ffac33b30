"""Service handlers over the business records: sales ledger, product archive, contracts.

Each handler runs inside the command that reached the service task, reading and writing
through that command's session (``engine.runtime.context.current().session``), so what it sees is
consistent with the case and what it writes commits or rolls back with it. Results are
plain JSON values (dates as ISO strings, money as decimal strings).

Sources: 销售记录 [000 篇一 3-4, 003] answers "is this our sale?" for returns [002 5.1.1-5.1.2]
and "who received this batch?" for recalls (销售流向记录) [002 三 6]; 产品档案 and 维保合同
[000 篇二 18), 004] answer warranty and contract questions and keep the service history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import CalendarConfig
from engine.runtime.context import CommandContext, current
from processes.handlers import service
from processes.records.models import Customer, MaintenanceContract, Product, SalesLedgerEntry, ServiceRecord

#: Separators people type between batch numbers: commas (ASCII and full-width), 、, ;, blanks.
_BATCH_SEPARATORS = re.compile(r"[,，、;；\s]+")


# --- helpers -----------------------------------------------------------------------------------


def _session() -> Session:
    return current().session


def company_today(context: CommandContext | None = None) -> date:
    """Today in the company timezone (the command's, else the default calendar's), by the engine clock."""
    tz = context.timezone if context is not None else ZoneInfo(CalendarConfig().timezone)
    return clock.now().astimezone(tz).date()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return format(value, "f") if value is not None else None


def _clean(text: str | None) -> str:
    return (text or "").strip()


def split_codes(codes: Iterable[str] | str | None) -> list[str]:
    """Batch or document numbers from a list or from text such as ``"B1, B2；B3"``; blanks and repeats dropped."""
    if codes is None:
        return []
    items = [codes] if isinstance(codes, str) else list(codes)
    found: list[str] = []
    for item in items:
        for part in _BATCH_SEPARATORS.split(str(item)):
            if part and part.upper() not in (f.upper() for f in found):
                found.append(part)
    return found


def _whole_number(value: Any, what: str) -> int | None:
    """``value`` as an int (form numbers may come as 5.0 or "5"); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    return int(number)


# --- sales ledger --------------------------------------------------------------------------------


_NOT_FOUND: dict[str, Any] = {
    "found": False,
    "document_number": None,
    "sale_date": None,
    "quantity_sold": 0,
    "expiry_date": None,
    "cold_chain": False,
    "unit_price": None,
    "specification": None,
    "registration_number": None,
}


@service("ledger_check")
def ledger_check(
    product_name: str, batch_number: str, purchaser_name: str, quantity: int | None = None
) -> dict[str, Any]:
    """Tell whether we sold this product batch to this purchaser (a return must be our sale).

    Matches the batch (case-insensitive) and the purchaser exactly, the product name
    case-insensitively. Several ledger lines of the same sale add up; the newest line gives
    the document, date, price and expiry. With ``quantity``, more than was sold is refused.
    """
    wanted = _whole_number(quantity, "quantity")
    name, batch, purchaser = _clean(product_name), _clean(batch_number), _clean(purchaser_name)
    if not (name and batch and purchaser):
        return {
            **_NOT_FOUND,
            "reason": "产品名称、批号和购货单位都必须填写",
            "reason_en": "product name, batch number and purchaser are all required",
        }
    lines = list(
        _session().scalars(
            select(SalesLedgerEntry)
            .where(
                func.upper(SalesLedgerEntry.batch_number) == batch.upper(),
                SalesLedgerEntry.purchaser_name == purchaser,
                func.lower(SalesLedgerEntry.product_name) == name.lower(),
            )
            .order_by(SalesLedgerEntry.sale_date.desc(), SalesLedgerEntry.id.desc())
        )
    )
    if not lines:
        return {
            **_NOT_FOUND,
            "reason": f"销售记录中没有向“{purchaser}”销售“{name}”批号 {batch} 的记录，不属本公司销售",
            "reason_en": f"the sales ledger has no sale of {name} batch {batch} to {purchaser}",
        }
    newest = lines[0]
    sold = sum(line.quantity for line in lines)
    result: dict[str, Any] = {
        "found": True,
        "document_number": newest.document_number,
        "sale_date": _iso(newest.sale_date),
        "quantity_sold": sold,
        "expiry_date": _iso(newest.expiry_date),
        "cold_chain": any(line.cold_chain for line in lines),
        "unit_price": _money(newest.unit_price),
        "specification": newest.specification,
        "registration_number": newest.registration_number,
        # The rows matched, for the billing clerk who confirms the sale (at most the newest 20).
        "lines": [
            {
                "document_number": line.document_number,
                "sale_date": _iso(line.sale_date),
                "purchaser_name": line.purchaser_name,
                "product_name": line.product_name,
                "batch_number": line.batch_number,
                "quantity": line.quantity,
                "expiry_date": _iso(line.expiry_date),
            }
            for line in lines[:20]
        ],
    }
    if wanted is not None and wanted > sold:
        result.update(
            found=False,
            reason=f"退回数量 {wanted} 超过销售数量 {sold}",
            reason_en=f"the quantity {wanted} is more than the {sold} sold",
        )
    return result


@service("ledger_customers")
def ledger_customers(batch_numbers: list[str] | str) -> list[dict[str, Any]]:
    """Every purchaser that received any of the batches (销售流向记录), quantities summed, by name.

    Contact details come from the newest ledger line, completed from the customer archive.
    """
    batches = split_codes(batch_numbers)
    if not batches:
        return []
    session = _session()
    lines = session.scalars(
        select(SalesLedgerEntry)
        .where(func.upper(SalesLedgerEntry.batch_number).in_([b.upper() for b in batches]))
        .order_by(SalesLedgerEntry.sale_date, SalesLedgerEntry.id)
    ).all()
    by_customer: dict[str, dict[str, Any]] = {}
    for line in lines:
        entry = by_customer.setdefault(
            line.purchaser_name,
            {
                "customer_name": line.purchaser_name,
                "licence": None,
                "address": None,
                "contact": None,
                "quantity": 0,
                "document_number": None,
                "sale_date": None,
                "batch_numbers": [],
                "documents": [],
                "cold_chain": False,
            },
        )
        entry["quantity"] += line.quantity
        # Lines come oldest first: later lines overwrite with the newest details.
        entry["licence"] = line.purchaser_licence or entry["licence"]
        entry["address"] = line.purchaser_address or entry["address"]
        entry["contact"] = line.purchaser_contact or entry["contact"]
        entry["sale_date"] = _iso(line.sale_date)
        entry["cold_chain"] = entry["cold_chain"] or line.cold_chain
        if line.document_number not in entry["documents"]:
            entry["documents"].append(line.document_number)
        if line.batch_number not in entry["batch_numbers"]:
            entry["batch_numbers"].append(line.batch_number)
    if by_customer:
        archive = {
            c.name: c for c in session.scalars(select(Customer).where(Customer.name.in_(list(by_customer))))
        }
        for name, entry in by_customer.items():
            known = archive.get(name)
            if known is not None:
                entry["licence"] = entry["licence"] or known.licence_number
                entry["address"] = entry["address"] or known.address
                entry["contact"] = entry["contact"] or known.contact or known.phone
            entry["document_number"] = ", ".join(entry["documents"])
    return [by_customer[name] for name in sorted(by_customer)]


# --- product archive -------------------------------------------------------------------------------


def _contract_in_force(session: Session, product: Product, today: date) -> MaintenanceContract | None:
    """A contract covering the product today: one for this unit, or one for the whole customer."""
    covers = MaintenanceContract.product_id == product.id
    if product.customer_id is not None:
        covers = or_(
            covers,
            (MaintenanceContract.product_id.is_(None))
            & (MaintenanceContract.customer_id == product.customer_id),
        )
    return session.scalars(
        select(MaintenanceContract)
        .where(covers, MaintenanceContract.starts_on <= today, MaintenanceContract.ends_on >= today)
        # A contract for this very unit before a customer-wide one; then the one running longest.
        .order_by(MaintenanceContract.product_id.is_(None), MaintenanceContract.ends_on.desc())
        .limit(1)
    ).first()


def _product(session: Session, serial_number: str) -> Product | None:
    serial = _clean(serial_number)
    if not serial:
        return None
    return session.scalars(
        select(Product).where(Product.serial_number == serial).order_by(Product.id.desc()).limit(1)
    ).first()


@service("product_lookup")
def product_lookup(serial_number: str) -> dict[str, Any]:
    """The product archive entry of a serial number: model, owner, warranty and contract today."""
    context = current()
    session = context.session
    product = _product(session, serial_number)
    if product is None:
        return {
            "found": False,
            "model": None,
            "customer_name": None,
            "warranty_end": None,
            "in_warranty": False,
            "contract_in_force": False,
            "contract_number": None,
            "key_customer": False,
            "sale_date": None,
        }
    today = company_today(context)
    contract = _contract_in_force(session, product, today)
    return {
        "found": True,
        "model": product.model,
        "customer_name": product.customer.name if product.customer is not None else None,
        "warranty_end": _iso(product.warranty_end),
        "in_warranty": product.warranty_end is not None and product.warranty_end >= today,
        "contract_in_force": contract is not None,
        "contract_number": contract.number if contract is not None else None,
        # 重点客户 is a class of customer kept in the archive, not an urgency [001 4.1].
        "key_customer": bool(product.customer is not None and product.customer.key_customer),
        "sale_date": _iso(product.sale_date),
    }


@service("record_service_history")
def record_service_history(serial_number: str, summary: str) -> dict[str, Any]:
    """Add the current case to the product's service history (产品服务履历)."""
    context = current()
    product = _product(context.session, serial_number)
    if product is None or context.instance_id is None:
        return {"recorded": False}
    context.session.add(
        ServiceRecord(
            product_id=product.id,
            instance_id=context.instance_id,
            summary=(summary or "").strip() or None,
            recorded_at=clock.now(),
        )
    )
    context.session.flush()
    return {"recorded": True}


# --- maintenance contracts ---------------------------------------------------------------------------


@service("contracts_due_for_renewal")
def contracts_due_for_renewal(days: int = 30) -> list[dict[str, Any]]:
    """Contracts ending in the next ``days`` days with no renewal notice yet [000 篇二 18)]."""
    context = current()
    today = company_today(context)
    horizon = today + timedelta(days=_whole_number(days, "days") or 0)
    contracts = context.session.scalars(
        select(MaintenanceContract)
        .where(
            MaintenanceContract.ends_on >= today,
            MaintenanceContract.ends_on <= horizon,
            MaintenanceContract.renewal_notice_instance_id.is_(None),
        )
        .order_by(MaintenanceContract.ends_on, MaintenanceContract.number)
    ).all()
    return [
        {
            "contract_number": c.number,
            "customer_name": c.customer.name,
            "ends_on": c.ends_on.isoformat(),
            "phone": c.customer.phone,
        }
        for c in contracts
    ]


@service("mark_renewal_notified")
def mark_renewal_notified(contract_numbers: list[str] | str) -> dict[str, Any]:
    """Record that the current case sent the renewal notice of these contracts (once each)."""
    context = current()
    numbers = split_codes(contract_numbers)
    if context.instance_id is None or not numbers:
        return {"marked": 0}
    contracts = context.session.scalars(
        select(MaintenanceContract).where(
            MaintenanceContract.number.in_(numbers), MaintenanceContract.renewal_notice_instance_id.is_(None)
        )
    ).all()
    for contract in contracts:
        contract.renewal_notice_instance_id = context.instance_id
    context.session.flush()
    return {"marked": len(contracts)}
