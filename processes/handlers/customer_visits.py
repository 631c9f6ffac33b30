"""Monthly call-backs, monthly visits to fixed-point units and the monthly user-feedback ledger.

* "产品在验收合格之日起，技术部门应建立客户售后服务档案 … 每月电话回访和质量跟踪回访一次，并做好回访记录"
  [001 产品服务措施 6]: every customer with a product accepted (a sale date on or before today)
  is called back once a month — ``monthly_call_back`` asks ``customers_to_call_back``.
* "企业选取一些固定医疗单位作为定期售后服务定点单位，定期派出（每月一次）… 到定点单位进行售后服务"
  [000 篇一 二.3]: the customers marked 定点单位 in the archive are visited once a month —
  ``fixed_point_visit`` asks ``fixed_point_units``.

Each visit's result is written as a ``CustomerVisit`` and shown on the customer's page.
On the 1st ``user_feedback_ledger`` asks ``user_feedback_last_month`` for last month's feedback
(《市场信息反馈台帐》 [002 4.2.6]).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import clock
from engine.runtime.context import current
from processes.handlers import service
from processes.handlers.records import company_today
from processes.kpis.dashboard import previous_month
from processes.records.feedback_ledger import feedback_ledger
from processes.records.models import Customer, CustomerVisit, Product

TIMEZONE = ZoneInfo("Asia/Shanghai")
#: At most this many customers are called or visited by one monthly run.
MAX_PER_RUN = 200
CALL_BACK = "call_back"
FIXED_POINT_VISIT = "fixed_point_visit"


def _describe(customer: Customer, models: list[str]) -> dict[str, Any]:
    return {
        "customer_id": customer.id,
        "customer_name": customer.name,
        "customer_phone": customer.phone or "",
        "customer_address": customer.address or "",
        "contact": customer.contact or "",
        "products": "、".join(models),
    }


def _models_by_customer(products: Iterable[Product]) -> dict[int, list[str]]:
    models: dict[int, list[str]] = {}
    for product in products:
        if product.customer_id is not None:
            names = models.setdefault(product.customer_id, [])
            if product.model not in names:
                names.append(product.model)
    return models


@service("customers_to_call_back")
def customers_to_call_back(limit: int = MAX_PER_RUN) -> list[dict[str, Any]]:
    """The customers with a product accepted on or before today, by name: one call-back each."""
    session = current().session
    today = clock.now().astimezone(TIMEZONE).date()
    products = session.scalars(
        select(Product)
        .where(Product.sale_date.is_not(None), Product.sale_date <= today, Product.customer_id.is_not(None))
        .order_by(Product.id)
    )
    models = _models_by_customer(products)
    if not models:
        return []
    customers = session.scalars(
        select(Customer)
        .where(Customer.id.in_(list(models)))
        .order_by(Customer.name, Customer.id)
        .limit(limit)
    )
    return [_describe(customer, models[customer.id]) for customer in customers]


@service("fixed_point_units")
def fixed_point_units(limit: int = MAX_PER_RUN) -> list[dict[str, Any]]:
    """The customers marked 定点单位 in the archive, by name: one visit each."""
    session = current().session
    customers = list(
        session.scalars(
            select(Customer)
            .where(Customer.fixed_point_unit.is_(True))
            .order_by(Customer.name, Customer.id)
            .limit(limit)
        )
    )
    ids = [customer.id for customer in customers]
    models = _models_by_customer(session.scalars(select(Product).where(Product.customer_id.in_(ids))))
    return [_describe(customer, models.get(customer.id, [])) for customer in customers]


_CONDITIONS = {"normal": "设备运行正常", "needs_attention": "有隐患", "faulty": "有故障"}


def _call_back_summary(record: Mapping[str, Any]) -> list[str]:
    parts = [
        f"受访人：{record.get('contact_person') or ''}",
        f"使用情况：{record.get('usage_status') or ''}",
        f"质量跟踪：{record.get('quality_tracking') or ''}",
    ]
    if record.get("customer_needs"):
        parts.append(f"客户需求：{record['customer_needs']}")
    if record.get("needs_service"):
        parts.append("需要安排服务")
    return parts


def _fixed_point_summary(record: Mapping[str, Any]) -> list[str]:
    parts = [
        f"派出人员：{record.get('visitor') or ''}",
        f"日期：{record.get('visit_date') or ''}",
        f"服务内容：{record.get('services_performed') or ''}",
        _CONDITIONS.get(str(record.get("equipment_condition")), str(record.get("equipment_condition") or "")),
        f"单位意见：{record.get('unit_opinions') or ''}",
    ]
    if record.get("needs_follow_up"):
        parts.append("需要跟进处理")
    return parts


def _record(records: Iterable[Mapping[str, Any] | None], kind: str) -> dict[str, int]:
    context = current()
    now = clock.now()
    heading = {CALL_BACK: "每月电话回访", FIXED_POINT_VISIT: "定点单位服务"}[kind]
    summarise = _call_back_summary if kind == CALL_BACK else _fixed_point_summary
    count = 0
    for record in records:
        if not record or record.get("customer_id") is None:
            continue
        parts = [f"{heading}（{context.business_number}）", *summarise(record)]
        context.session.add(
            CustomerVisit(
                customer_id=int(record["customer_id"]),
                instance_id=context.instance_id,
                kind=kind,
                summary="；".join(part for part in parts if part),
                recorded_at=now,
            )
        )
        count += 1
    context.session.flush()
    return {"recorded": count}


@service("record_call_backs")
def record_call_backs(records: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    """Write each monthly call-back's record to its customer (做好回访记录 [001 产品服务措施 6])."""
    return _record(records, CALL_BACK)


@service("record_fixed_point_visits")
def record_fixed_point_visits(records: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    """Write each fixed-point unit's visit to its customer [000 篇一 二.3]."""
    return _record(records, FIXED_POINT_VISIT)


@service("user_feedback_last_month")
def user_feedback_last_month() -> dict[str, Any]:
    """Last month's user feedback, line by line, for the ledger [002 4.2.6]."""
    context = current()
    zone = context.timezone
    name = zone.key if isinstance(zone, ZoneInfo) else "Asia/Shanghai"
    return feedback_ledger(context.session, previous_month(company_today(context)), name).as_json()
