"""The recall's customers as one table: who received the batch, notified when, acknowledged, returned.

Built from what a task page already reads: the traced customers (a fact of the case), the case's
tasks (one notification and one receipt per customer, titled with the customer's name) and the
data their completions recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

NOTIFY_STEP = "task_notify"
COLLECT_STEP = "task_collect"


@dataclass(frozen=True)
class StepDone:
    """One task of the case as the table needs it: its step, title, state and submitted data."""

    spec_id: str
    name: str
    state: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class RecallCustomer:
    """One customer reached by the recalled batch."""

    customer_name: str
    contact: str
    address: str
    shipped: int
    notified_at: str | None
    acknowledged: bool | None
    to_return: int | None
    returned: int | None


def _number(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _for_customer(steps: Iterable[StepDone], spec_id: str, name: str) -> StepDone | None:
    """The newest completed step of this kind whose title names the customer."""
    found = [s for s in steps if s.spec_id == spec_id and s.state == "completed" and s.name.endswith(name)]
    return found[-1] if found else None


def recall_customers(customers: Any, steps: list[StepDone]) -> list[RecallCustomer]:
    """One row per traced customer: shipped quantity, notification, acknowledgement, returned quantity."""
    rows: list[RecallCustomer] = []
    for customer in customers if isinstance(customers, list) else []:
        if not isinstance(customer, Mapping):
            continue
        name = str(customer.get("customer_name") or "")
        notified = _for_customer(steps, NOTIFY_STEP, name)
        received = _for_customer(steps, COLLECT_STEP, name)
        rows.append(
            RecallCustomer(
                customer_name=name,
                contact=str(customer.get("contact") or ""),
                address=str(customer.get("address") or ""),
                shipped=_number(customer.get("quantity")) or 0,
                notified_at=str(notified.data.get("notified_at")) if notified else None,
                acknowledged=bool(notified.data.get("acknowledged")) if notified else None,
                to_return=_number(notified.data.get("quantity_to_return")) if notified else None,
                returned=_number(received.data.get("received_quantity")) if received else None,
            )
        )
    return rows


def recovered_total(rows: Iterable[RecallCustomer]) -> int:
    """The quantity received back from all customers."""
    return sum(row.returned or 0 for row in rows)
