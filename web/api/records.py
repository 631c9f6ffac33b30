"""Records: customers, products and the sales ledger — read, create a customer, import a ledger file.

Anyone holding a role reads them through the API (customer service looks customers up while
registering a call); administrators and the managers create customers and import ledger files.
The archive pages (``web/records``) gate by the roles of ``docs/archives.md``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest.fields import Upload
from marshmallow import validate
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from engine import clock
from processes.records.ledger_import import LedgerImportError, import_ledger
from processes.records.models import Customer, Product, SalesLedgerEntry
from web.api.auth import api_actor, api_blueprint
from web.api.errors import api_language, refuse
from web.api.schemas import InputSchema, page_of
from web.auth import engine
from web.messages import translate

blp = api_blueprint("api_records", "/api/v1/records", "Customers, products and the sales ledger.")


class RecordQueryArgsSchema(InputSchema):
    """A search over a record list, paged."""

    q = ma.fields.String(load_default="", validate=validate.Length(max=100))
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CustomerSchema(InputSchema):
    """A customer (客户档案)."""

    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=256))
    licence_number = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    address = ma.fields.String(allow_none=True, validate=validate.Length(max=512))
    phone = ma.fields.String(allow_none=True, validate=validate.Length(max=64))
    contact = ma.fields.String(allow_none=True, validate=validate.Length(max=128))
    region = ma.fields.String(allow_none=True, validate=validate.Length(max=32))
    key_customer = ma.fields.Boolean(load_default=False)
    fixed_point_unit = ma.fields.Boolean(load_default=False)
    created_at = ma.fields.DateTime(dump_only=True)


class ProductSchema(ma.Schema):
    """A delivered unit or lot (产品档案)."""

    id = ma.fields.Integer()
    model = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    serial_number = ma.fields.String(allow_none=True)
    registration_number = ma.fields.String(allow_none=True)
    sale_date = ma.fields.Date(allow_none=True)
    warranty_end = ma.fields.Date(allow_none=True)
    customer_id = ma.fields.Integer(allow_none=True)


class LedgerEntrySchema(ma.Schema):
    """One line of the sales ledger (销售记录)."""

    id = ma.fields.Integer()
    document_number = ma.fields.String()
    line_number = ma.fields.Integer()
    product_name = ma.fields.String()
    specification = ma.fields.String(allow_none=True)
    batch_number = ma.fields.String()
    quantity = ma.fields.Integer()
    sale_date = ma.fields.Date()
    purchaser_name = ma.fields.String()
    cold_chain = ma.fields.Boolean()


class LedgerFileSchema(ma.Schema):
    """A ledger file (CSV or XLSX) to import."""

    file = Upload(required=True)


class ImportReportSchema(ma.Schema):
    """What an import added."""

    imported = ma.fields.Integer(required=True)
    customers_created = ma.fields.Integer(required=True)


def _may_read() -> None:
    if not api_actor().roles:
        refuse(403)


def _may_write() -> None:
    if not api_actor().roles & (engine().config.manager_roles | {"admin"}):
        refuse(403)


def _paged(model: Any, args: dict[str, Any], *columns: Any) -> dict[str, Any]:
    query = select(model)
    if args["q"]:
        query = query.where(or_(*(column.contains(args["q"]) for column in columns)))
    with engine().sessions() as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(
            db.scalars(
                query.order_by(model.id).offset((args["page"] - 1) * args["per_page"]).limit(args["per_page"])
            )
        )
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/customers")
class Customers(MethodView):
    @blp.arguments(RecordQueryArgsSchema, location="query")
    @blp.response(200, page_of(CustomerSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List customers, searched by name, phone or licence number."""
        _may_read()
        return _paged(Customer, args, Customer.name, Customer.phone, Customer.licence_number)

    @blp.arguments(CustomerSchema)
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any]) -> Customer:
        """Create a customer (administrators and managers)."""
        _may_write()
        try:
            with engine().writer.begin() as db:
                customer = Customer(**data, created_at=clock.now())
                db.add(customer)
                db.flush()
                db.expunge(customer)
        except IntegrityError:
            api_language()
            refuse(409, code="duplicate", message=_("A customer of this name exists already."))
        return customer


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(RecordQueryArgsSchema, location="query")
    @blp.response(200, page_of(ProductSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List products, searched by model, name or serial number."""
        _may_read()
        return _paged(Product, args, Product.model, Product.name, Product.serial_number)


@blp.route("/ledger")
class Ledger(MethodView):
    @blp.arguments(RecordQueryArgsSchema, location="query")
    @blp.response(200, page_of(LedgerEntrySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List sales-ledger lines, searched by batch, document number or purchaser."""
        _may_read()
        return _paged(
            SalesLedgerEntry,
            args,
            SalesLedgerEntry.batch_number,
            SalesLedgerEntry.document_number,
            SalesLedgerEntry.purchaser_name,
        )


@blp.route("/ledger/imports")
class LedgerImports(MethodView):
    @blp.arguments(LedgerFileSchema, location="files")
    @blp.response(201, ImportReportSchema)
    def post(self, files: dict[str, Any]) -> Any:
        """Import a sales-ledger file (CSV or XLSX): every row or none, as the command does."""
        _may_write()
        upload = files["file"]
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            api_language()
            refuse(422, code="invalid", message=_("Send a CSV or XLSX file."))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"ledger{suffix}"
            upload.save(path)
            try:
                with engine().writer.begin() as db:
                    return import_ledger(db, path)
            except LedgerImportError as error:
                lang = api_language()
                refuse(
                    422,
                    code="ledger_invalid",
                    message=_("Nothing was imported; see errors."),
                    errors={str(e.row): translate(e.problem, lang) for e in error.errors},
                )
