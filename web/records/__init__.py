"""The archives in the browser: customers (客户档案) and products (产品档案) with their history.

The sales ledger's pages are in ``ledger``, the registration forms' look-ups in ``pickers``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from processes.records import archive
from web.auth import engine
from web.records.blueprint import bp, may_edit_archive, may_read_archive, require
from web.records.requests import check_new_customer, customer_values, page_number


@bp.get("/customers")
def customers() -> Any:
    """Search the customer archive by name, phone, contact, address or licence."""
    require(may_read_archive())
    q = request.args.get("q", "")[:100]
    with engine().sessions() as session:
        page = archive.search_customers(session, q, page_number())
    return render_template("records/customers.html", page=page, q=q, may_edit=may_edit_archive())


@bp.post("/customers")
def create_customer() -> Any:
    """Add a customer to the archive (customer service and managers)."""
    require(may_edit_archive())
    values = customer_values(request.form)
    with engine().writer.begin() as session:
        problem = check_new_customer(session, values)
        if problem is None:
            customer_id = archive.create_customer(session, values, clock.now()).id
    if problem is not None:
        flash(problem, "error")
        with engine().sessions() as session:
            page = archive.search_customers(session, "", 1)
        return render_template("records/customers.html", page=page, q="", may_edit=True, new=values), 422
    flash(_("Customer %(name)s added to the archive.", name=values["name"]), "ok")
    return redirect(url_for("records.customer", customer_id=customer_id))


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int) -> Any:
    """One customer: products, cases, complaints, follow-up ratings, contracts."""
    require(may_read_archive())
    with engine().sessions() as session:
        profile = archive.customer_profile(session, customer_id)
        if profile is None:
            abort(404)
        session.expunge_all()
    return render_template(
        "records/customer.html", p=profile, today=clock.now().date(), may_edit=may_edit_archive()
    )


@bp.post("/customers/<int:customer_id>/classes")
def customer_classes(customer_id: int) -> Any:
    """Mark a customer as a key customer (重点客户) or a fixed-point unit (定点单位)."""
    require(may_edit_archive())
    with engine().writer.begin() as session:
        customer = archive.set_customer_classes(
            session,
            customer_id,
            key_customer=request.form.get("key_customer") == "on",
            fixed_point_unit=request.form.get("fixed_point_unit") == "on",
        )
        if customer is None:
            abort(404)
        name = customer.name
    flash(_("The classes of %(name)s are saved.", name=name), "ok")
    return redirect(url_for("records.customer", customer_id=customer_id))


@bp.get("/products")
def products() -> Any:
    """Search the product archive by model, name, serial, registration number or customer."""
    require(may_read_archive())
    q = request.args.get("q", "")[:100]
    with engine().sessions() as session:
        page = archive.search_products(session, q, page_number())
        session.expunge_all()
    return render_template("records/products.html", page=page, q=q)


@bp.get("/products/<int:product_id>")
def product(product_id: int) -> Any:
    """One product: its warranty, contracts and service history."""
    require(may_read_archive())
    with engine().sessions() as session:
        history = archive.product_history(session, product_id)
        if history is None:
            abort(404)
        session.expunge_all()
    return render_template("records/product.html", h=history, today=clock.now().date())


from web.records import ledger, pickers  # noqa: E402,F401  (register the ledger and look-up routes)

__all__ = ["bp"]
