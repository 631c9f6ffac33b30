"""Which field of our registration forms takes which value of the customer and product archives.

The start forms (repair_register, return_request, complaint_receive…) name their fields
differently; a picked customer or product fills every field of the form that is listed here.
"""

from __future__ import annotations

from typing import Any

from processes.records.models import Customer, MaintenanceContract, Product

#: Form field -> customer attribute.
CUSTOMER_FIELDS: dict[str, str] = {
    "customer_name": "name",
    "customer": "name",
    "customer_phone": "phone",
    "contact_phone": "phone",
    "customer_address": "address",
    "customer_contact": "contact",
    "contact_person": "contact",
}
#: Form field -> product attribute.
PRODUCT_FIELDS: dict[str, str] = {
    "product_model": "model",
    "model": "model",
    "product_name": "name",
    "serial_number": "serial_number",
    "registration_number": "registration_number",
    "warranty_end": "warranty_end",
}
#: Form fields the type-ahead is offered on.
CUSTOMER_PICKER_FIELDS = ("customer_name", "customer")
PRODUCT_PICKER_FIELDS = ("product_model", "serial_number")
#: The form field that says whether a maintenance contract is in force.
CONTRACT_FIELD = "contract_in_force"


def customer_fields(customer: Customer) -> dict[str, str]:
    """The form values a picked customer fills in (every key a form may have)."""
    return {field: str(getattr(customer, attr) or "") for field, attr in CUSTOMER_FIELDS.items()}


def product_fields(product: Product, contract: MaintenanceContract | None) -> dict[str, Any]:
    """The form values a picked product fills in, with whether a contract covers it today."""
    values: dict[str, Any] = {}
    for field, attr in PRODUCT_FIELDS.items():
        value = getattr(product, attr)
        values[field] = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
    if product.name is None:
        values["product_name"] = product.model
    values[CONTRACT_FIELD] = contract is not None
    return values
