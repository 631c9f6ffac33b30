"""Regular follow-up visits (定期回访) of the products in the archive.

"在保修期内按每3个月定期上门回访一次。在保修期满后按每6个月定期上门回访一次" [001 产品服务措施 6].
The scheduled process ``periodic_follow_up`` calls these handlers once a day.

The rule, kept simple on purpose:

* A product's follow-up clock starts at its sale date (or its invoice date when the sale
  date is unknown); a product with neither is never followed up.
* The newest entry of the product's service history (``ServiceRecord``: a closed repair, a
  follow-up visit, or a follow-up scheduled by this process) restarts the clock.
* The next visit falls 3 months after the clock's start when that date is still within the
  warranty, otherwise 6 months after it. The warranty ends on ``Product.warranty_end``, or
  one year after the invoice (or sale) date — the 三包 default [000 篇三 2.1.1].
* A product is due when its next visit falls on or before today (company timezone).

``follow_ups_scheduled`` writes a "定期回访已安排" entry into the history of each product a case
is opened for, so the next daily run does not pick the same products again while their
visits are still open; ``record_follow_up_visits`` writes each visit's result.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine import clock
from engine.runtime.context import current
from processes.handlers import service
from processes.records.models import Product, ServiceRecord

#: The company timezone the daily run counts dates in.
TIMEZONE = ZoneInfo("Asia/Shanghai")
IN_WARRANTY_MONTHS = 3
AFTER_WARRANTY_MONTHS = 6
#: At most this many visits are opened by one daily run (the rest come the next day).
MAX_PER_RUN = 200
SCHEDULED_MARK = "定期回访已安排"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_end_of(product: Product) -> date | None:
    """The product's warranty end: as recorded, else one year after the invoice or sale date."""
    if product.warranty_end is not None:
        return product.warranty_end
    start = product.invoice_date or product.sale_date
    return add_months(start, 12) if start is not None else None


def next_follow_up(product: Product, last_service: date | None) -> date | None:
    """The date of the product's next regular visit, or None when it has no sale date."""
    start = product.sale_date or product.invoice_date
    if start is None:
        return None
    if last_service is not None and last_service > start:
        start = last_service
    warranty_end = warranty_end_of(product)
    in_warranty_visit = add_months(start, IN_WARRANTY_MONTHS)
    if warranty_end is not None and in_warranty_visit <= warranty_end:
        return in_warranty_visit
    return add_months(start, AFTER_WARRANTY_MONTHS)


def _today() -> date:
    return clock.now().astimezone(TIMEZONE).date()


@service("follow_ups_due")
def follow_ups_due(limit: int = MAX_PER_RUN) -> list[dict[str, Any]]:
    """Return the products whose regular follow-up visit is due today or earlier, oldest first."""
    session = current().session
    today = _today()
    last_recorded = dict(
        session.execute(
            select(ServiceRecord.product_id, func.max(ServiceRecord.recorded_at)).group_by(
                ServiceRecord.product_id
            )
        ).all()
    )
    due: list[tuple[date, Product, date | None]] = []
    for product in session.scalars(select(Product).order_by(Product.id)):
        recorded = last_recorded.get(product.id)
        last_service = recorded.astimezone(TIMEZONE).date() if recorded is not None else None
        next_visit = next_follow_up(product, last_service)
        if next_visit is not None and next_visit <= today:
            due.append((next_visit, product, last_service))
    due.sort(key=lambda item: (item[0], item[1].id))
    return [
        _describe(product, next_visit, last_service, today)
        for next_visit, product, last_service in due[:limit]
    ]


def _describe(product: Product, next_visit: date, last_service: date | None, today: date) -> dict[str, Any]:
    customer = product.customer
    warranty_end = warranty_end_of(product)
    return {
        "product_id": product.id,
        "serial_number": product.serial_number or "",
        "model": product.model,
        "product_name": product.name or product.model,
        "customer_name": customer.name if customer else "",
        "customer_phone": (customer.phone if customer else None) or "",
        "customer_address": (customer.address if customer else None) or "",
        "in_warranty": warranty_end is not None and today <= warranty_end,
        "warranty_end": warranty_end.isoformat() if warranty_end else None,
        "due_date": next_visit.isoformat(),
        "last_service": last_service.isoformat() if last_service else None,
    }


@service("follow_ups_scheduled")
def follow_ups_scheduled(products: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Note in each product's history that a follow-up visit was opened by the current case."""
    context = current()
    now = clock.now()
    count = 0
    for product in products:
        context.session.add(
            ServiceRecord(
                product_id=int(product["product_id"]),
                instance_id=context.instance_id,
                summary=f"{SCHEDULED_MARK}（{context.business_number}，应访日期 {product.get('due_date')}）",
                recorded_at=now,
            )
        )
        count += 1
    context.session.flush()
    return {"scheduled": count}


_METHODS = {"on_site": "上门回访", "phone": "电话回访", "letter": "书面回访"}
_CONDITIONS = {"normal": "运行正常", "needs_attention": "有隐患", "faulty": "有故障"}


@service("record_follow_up_visits")
def record_follow_up_visits(visits: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    """Write the result of each regular follow-up visit into the product's service history."""
    context = current()
    now = clock.now()
    count = 0
    for visit in visits:
        if not visit or visit.get("product_id") is None:
            continue
        parts = [
            f"定期回访（{context.business_number}）",
            _METHODS.get(str(visit.get("method")), str(visit.get("method") or "")),
            _CONDITIONS.get(str(visit.get("condition")), str(visit.get("condition") or "")),
            str(visit.get("findings") or ""),
        ]
        if visit.get("needs_repair"):
            parts.append("需要报修")
        context.session.add(
            ServiceRecord(
                product_id=int(visit["product_id"]),
                instance_id=context.instance_id,
                summary="；".join(p for p in parts if p),
                recorded_at=now,
            )
        )
        count += 1
    context.session.flush()
    return {"recorded": count}
