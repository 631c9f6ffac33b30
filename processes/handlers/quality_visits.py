"""Recurring visits from the archive: half-yearly user quality visits (用户质量访问) to the
customers, quarterly phone tracking of the delivered products.

"定期组织用户访问工作，填写《用户质量访问记录表及意见处理单》，报客服部经理批准 … 回访周期：半年"
[002 4.1.3]. The scheduled process ``quality_visit`` starts every six months and asks this
handler which customers to visit: every customer of the archive, in name order, at most
``MAX_PER_RUN`` per run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.runtime.context import current
from processes.handlers import service
from processes.records.models import Customer, Product

#: At most this many customers are visited by one run (a larger archive needs more visitors).
MAX_PER_RUN = 200


@service("customers_to_visit")
def customers_to_visit(limit: int = MAX_PER_RUN) -> list[dict[str, Any]]:
    """Return the customers of the archive to visit, one entry each, by name."""
    session = current().session
    customers = session.scalars(select(Customer).order_by(Customer.name, Customer.id).limit(limit))
    return [
        {
            "customer_id": customer.id,
            "customer_name": customer.name,
            "customer_phone": customer.phone or "",
            "customer_address": customer.address or "",
            "contact": customer.contact or "",
        }
        for customer in customers
    ]


@service("products_to_track")
def products_to_track(limit: int = MAX_PER_RUN) -> list[dict[str, Any]]:
    """Return the delivered products of the archive to follow up by phone, oldest first.

    "产品交付用户并培训后，售后服务室负责定期（原则上每季一次）电话跟踪用户" [004 10.1]: every product
    with a sale date is tracked each quarter.
    """
    session = current().session
    products = session.scalars(
        select(Product)
        .where(Product.sale_date.is_not(None))
        .order_by(Product.sale_date, Product.id)
        .limit(limit)
    )
    return [
        {
            "product_id": product.id,
            "serial_number": product.serial_number or "",
            "model": product.model,
            "customer_name": product.customer.name if product.customer else "",
            "customer_phone": (product.customer.phone if product.customer else None) or "",
        }
        for product in products
    ]
