"""Checks of submissions against the business records, beyond what a form's bounds can say.

A return request may not ask to return more than the sales ledger shows was sold of that batch
to that purchaser [002 5.1.1–5.1.2]. When the ledger knows no such sale, the process's own
ledger check rejects the request with its reason; this check only refuses the impossible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.user_messages import Message
from processes.records.models import SalesLedgerEntry

FormCheck = Callable[[Mapping[str, Any], Mapping[str, Any], Session | None], dict[str, list[Message]]]


def sold_quantity(session: Session, product_name: str, batch_number: str, purchaser_name: str) -> int | None:
    """The quantity of a batch the ledger shows sold to a purchaser (None when it knows no such sale)."""
    total = session.scalar(
        select(func.sum(SalesLedgerEntry.quantity)).where(
            func.upper(SalesLedgerEntry.batch_number) == batch_number.strip().upper(),
            SalesLedgerEntry.purchaser_name == purchaser_name.strip(),
            func.lower(SalesLedgerEntry.product_name) == product_name.strip().lower(),
        )
    )
    return int(total) if total is not None else None


def return_within_ledger(
    values: Mapping[str, Any], case_data: Mapping[str, Any], session: Session | None
) -> dict[str, list[Message]]:
    """Refuse a return of more than the ledger shows sold of the batch to the purchaser."""
    quantity = values.get("quantity")
    names = [values.get(key) for key in ("product_name", "batch_number", "customer_name")]
    if session is None or quantity is None or not all(isinstance(name, str) and name for name in names):
        return {}
    sold = sold_quantity(session, *(str(name) for name in names))
    if sold is None or float(quantity) <= sold:
        return {}
    return {
        "quantity": [
            Message(
                "form.above",
                {
                    "field": {"zh": "退货数量", "en": "Quantity to return"},
                    "what": {"zh": "销售记录中的销售数量", "en": "the quantity the sales ledger shows sold"},
                    "bound": str(sold),
                },
            )
        ]
    }


def written_reply_for_major(
    values: Mapping[str, Any], case_data: Mapping[str, Any], session: Session | None
) -> dict[str, list[Message]]:
    """A major complaint is answered by letter [000 篇二 8)]: say so on submit, keep the task."""
    if case_data.get("severity") == "major" and values.get("reply_channel") not in (None, "letter"):
        return {"reply_channel": [Message("complaint.written_reply_required")]}
    return {}


#: The record checks of our forms, by form key.
FORM_CHECKS: dict[str, FormCheck] = {
    "return_request": return_within_ledger,
    "complaint_reply": written_reply_for_major,
}
