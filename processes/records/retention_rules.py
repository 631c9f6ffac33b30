"""The seeds' retention defaults, and the expiry date of the product a case concerns.

- 004 3.13 「建立售后服务、用户回访等各种记录并归档保管，保存时限为3—5年」: every record is kept
  for years; the defaults take the upper bound, 5 years, for the regulated processes and 3 for
  the rest (the renewal notices and routine visits).
- 001 第九条「医疗器械销售记录应保存至产品有效期或使用期限过后一年以上」 and 第十四条「医疗器械售后服务
  记录应保存至产品有效期或使用期限过后一年以上」: records about a device (a repair, a complaint, a
  return, a recall) are kept at least one year past the product's expiry.

They are rows of ``retention_policy`` (``afterflow retention policy`` edits them); these are only
what an empty table is filled with.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.records.retention import PolicyRule
from engine.store.models import Event, ProcessInstance
from processes.records.models import SalesLedgerEntry

SOURCES = {
    "3-5": "004 3.13 保存时限为3—5年",
    "device": "004 3.13; 001 第九条、第十四条 保存至产品有效期过后一年以上",
}
DEVICE_PROCESSES = ("repair_service", "complaint", "sales_return", "recall")


def default_rules() -> list[PolicyRule]:
    """The retention rules an installation starts with."""
    out = [PolicyRule("case", "", 3, None, SOURCES["3-5"])]
    out += [PolicyRule("case", key, 5, 1, SOURCES["device"]) for key in DEVICE_PROCESSES]
    out.append(PolicyRule("case", "complaint_statistics", 5, None, SOURCES["3-5"]))
    for kind in ("document", "signature"):
        out.append(PolicyRule(kind, "", 5, 1, SOURCES["device"]))
    out.append(PolicyRule("attachment", "", 5, None, SOURCES["3-5"]))
    return out


def _entered(session: Session, instance_id: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for payload in session.scalars(
        select(Event.data)
        .where(Event.instance_id == instance_id, Event.action.in_(("instance_started", "task_completed")))
        .order_by(Event.id)
    ):
        entered = (payload or {}).get("data")
        if isinstance(entered, dict):
            data.update(entered)
    return data


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def product_expiry(session: Session, instance: ProcessInstance) -> date | None:
    """The expiry of the product a case concerns: as entered, else the sales ledger's for its batch or serial."""
    data = _entered(session, instance.id)
    entered = _as_date(data.get("expiry_date"))
    if entered is not None:
        return entered
    codes: list[str] = []
    for key in ("batch_number", "serial_number"):
        if isinstance(data.get(key), str) and data[key].strip():
            codes.append(data[key].strip())
    batches = data.get("batch_numbers")
    if isinstance(batches, str):
        codes += [part.strip() for part in batches.replace("，", ",").split(",") if part.strip()]
    if not codes:
        return None
    found = session.scalar(
        select(SalesLedgerEntry.expiry_date)
        .where(SalesLedgerEntry.batch_number.in_(codes), SalesLedgerEntry.expiry_date.is_not(None))
        .order_by(SalesLedgerEntry.expiry_date.desc())
        .limit(1)
    )
    return found
