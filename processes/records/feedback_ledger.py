"""The monthly user-feedback ledger (市场信息反馈台帐): every piece of feedback a month brought in.

"每月定期汇总所有用户反馈信息，填写《市场信息反馈记录》和《市场信息反馈台帐》" [002 4.2.6]. A
customer's feedback reaches the company as a repair request, a complaint, a return request, or
what a monthly call-back or a fixed-point visit recorded; the ledger lists each of them received
in the month (by the company's calendar), oldest first, with how many of each kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import ProcessInstance
from processes.records.models import Customer, CustomerVisit

#: The processes whose cases are a customer's feedback, and the ledger's kind for each.
FEEDBACK_CASES = {"repair_service": "repair", "complaint": "complaint", "sales_return": "return"}
#: The kind of ledger line a recorded customer visit gives.
VISIT_KINDS = {"call_back": "call_back", "fixed_point_visit": "fixed_point_visit"}
#: The kinds in the order the ledger counts them.
KINDS = ("repair", "complaint", "return", "call_back", "fixed_point_visit")


@dataclass(frozen=True)
class FeedbackLine:
    """One line of the ledger: when, from whom, what kind, its case and what it said or where it stands."""

    day: date
    customer: str
    kind: str
    reference: str
    content: str


@dataclass
class FeedbackLedger:
    """A month's user feedback, line by line."""

    month: str
    lines: list[FeedbackLine] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for line in self.lines if line.kind == kind) for kind in KINDS}

    def as_json(self) -> dict[str, Any]:
        """The ledger as plain JSON (for the case that prepares and signs it off)."""
        return {
            "month": self.month,
            "total": len(self.lines),
            "counts": self.counts,
            "lines": [
                {
                    "day": line.day.isoformat(),
                    "customer": line.customer,
                    "kind": line.kind,
                    "reference": line.reference,
                    "content": line.content,
                }
                for line in self.lines
            ],
        }


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first moment of ``month`` (YYYY-MM) and of the next, on the company's wall clock."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=zone)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, following


def feedback_ledger(session: Session, month: str, timezone: str = "Asia/Shanghai") -> FeedbackLedger:
    """Every customer feedback received in ``month``: its cases and its recorded visits [002 4.2.6]."""
    zone = ZoneInfo(timezone)
    start, end = month_bounds(month, zone)
    lines: list[tuple[datetime, FeedbackLine]] = []
    for instance in session.scalars(
        select(ProcessInstance).where(
            ProcessInstance.process_key.in_(list(FEEDBACK_CASES)),
            ProcessInstance.started_at >= start,
            ProcessInstance.started_at < end,
        )
    ):
        at = instance.started_at
        content = "；".join(part for part in (instance.product, instance.current_step) if part)
        line = FeedbackLine(
            at.astimezone(zone).date(),
            instance.customer_name or "",
            FEEDBACK_CASES[instance.process_key],
            instance.business_number,
            content,
        )
        lines.append((at, line))
    for visit, customer_name, number in session.execute(
        select(CustomerVisit, Customer.name, ProcessInstance.business_number)
        .join(Customer, Customer.id == CustomerVisit.customer_id)
        .join(ProcessInstance, ProcessInstance.id == CustomerVisit.instance_id)
        .where(CustomerVisit.recorded_at >= start, CustomerVisit.recorded_at < end)
    ):
        at = visit.recorded_at
        kind = VISIT_KINDS.get(visit.kind, visit.kind)
        lines.append(
            (at, FeedbackLine(at.astimezone(zone).date(), customer_name, kind, number, visit.summary))
        )
    lines.sort(key=lambda item: (item[0], item[1].reference))
    return FeedbackLedger(month, [line for _at, line in lines])
