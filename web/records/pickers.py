"""Look-ups for the registration forms: customers and products from the archive, as small JSON.

The start forms' type-ahead (``static/pickers.js``) asks these while someone types and fills
the form's fields from the answer: which form field takes which archive value is the domain's
(``processes.records.pickers``). A customer not in the archive yet can be added from there.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _

from engine import clock
from processes.records import archive
from processes.records.models import Customer, Product
from processes.records.pickers import customer_fields, product_fields
from web.auth import engine
from web.records.blueprint import bp, may_edit_archive, may_read_archive, require
from web.records.requests import check_new_customer, customer_values

#: At most this many suggestions are sent.
SUGGESTIONS = 10


def _customer(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "label": customer.name,
        "detail": " · ".join(v for v in (customer.contact, customer.phone, customer.address) if v),
        "fields": customer_fields(customer),
    }


def _product(session: Any, product: Product) -> dict[str, Any]:
    contract = archive.contract_in_force(session, product, clock.now().date())
    serial = product.serial_number or ""
    return {
        "id": product.id,
        "label": " ".join(v for v in (product.model, serial) if v),
        "detail": " · ".join(
            v for v in (product.name, product.customer.name if product.customer else "") if v
        ),
        "fields": product_fields(product, contract),
        "customer": _customer(product.customer) if product.customer else None,
    }


@bp.get("/records/pick/customers")
def pick_customers() -> Any:
    """Customers whose name, phone or contact contains ``q`` (at most ten)."""
    require(may_read_archive())
    q = request.args.get("q", "")[:100]
    with engine().sessions() as session:
        page = archive.search_customers(session, q, 1, SUGGESTIONS)
        return jsonify({"items": [_customer(c) for c in page.items], "total": page.total})


@bp.get("/records/pick/products")
def pick_products() -> Any:
    """Products matching ``q`` (model, serial, name), only the customer's when ``customer`` is given."""
    require(may_read_archive())
    q = request.args.get("q", "")[:100]
    customer = request.args.get("customer", "")
    customer_id = int(customer) if customer.isdigit() else None
    with engine().sessions() as session:
        page = archive.search_products(session, q, 1, SUGGESTIONS, customer_id=customer_id)
        return jsonify({"items": [_product(session, p) for p in page.items], "total": page.total})


@bp.post("/records/pick/customers")
def add_customer() -> Any:
    """Add a customer from a registration form; answers the new customer as a suggestion."""
    require(may_edit_archive())
    values = customer_values(request.form)
    with engine().writer.begin() as session:
        problem = check_new_customer(session, values)
        if problem is not None:
            return jsonify({"error": problem}), 422
        created = archive.create_customer(session, values, clock.now())
        answer = _customer(created)
    answer["message"] = _("Customer %(name)s added to the archive.", name=values["name"])
    return jsonify(answer), 201
