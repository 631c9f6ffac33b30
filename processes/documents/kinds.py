"""The documents the seeds ask for, which process each belongs to, and when a case has what it needs.

- 服务凭证 — the on-site service record the customer signs [000 篇二 7) 10); 001 2.4.3; 004 7.2.6];
- 修护卡 and 客户商品领取收据 — when the technician takes the product back [000 篇二 9)];
- 客户抱怨处理表 — the internal complaint form, never sent to the customer [001 7];
- 答复函 — the letter to the customer: the approved disposition only [001 7];
- 销售退回通知单 — the return notice [002];
- 召回通知 — one per customer who received the batch; 召回总结报告 — shipped vs recovered [002];
- 客户投诉案件统计表 — last month's closed complaints [001 6];
- 市场信息反馈台帐 — last month's user feedback, line by line [002 4.2.6].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Data = Mapping[str, Any]


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document: its title, template, process, and whether a case is ready for it."""

    key: str
    title: str
    process_key: str
    #: The template file in ``diagrams/documents`` (without ``.html``) and the name its versions are kept under.
    template: str
    ready: Callable[[Data], bool]
    #: Issued once per customer of the case (``subjects`` lists them) rather than once per case.
    per_customer: bool = False
    #: For the company's own files only; never handed to the customer.
    internal: bool = False


def _has(*keys: str) -> Callable[[Data], bool]:
    return lambda data: all(data.get(key) not in (None, "", []) for key in keys)


def _taken_back(data: Data) -> bool:
    return data.get("outcome") == "take_back"


def _approved_disposition(data: Data) -> bool:
    return data.get("approval_decision") in ("approve", "approved", True) and bool(
        data.get("approved_disposition")
    )


KINDS: dict[str, DocumentKind] = {
    kind.key: kind
    for kind in (
        DocumentKind("service_voucher", "服务凭证", "repair_service", "service_voucher", _has("outcome")),
        DocumentKind("repair_card", "修护卡", "repair_service", "repair_card", _taken_back),
        DocumentKind("goods_receipt", "客户商品领取收据", "repair_service", "goods_receipt", _taken_back),
        DocumentKind(
            "complaint_form",
            "客户抱怨处理表",
            "complaint",
            "complaint_form",
            _has("complaint_category"),
            internal=True,
        ),
        DocumentKind("reply_letter", "答复函", "complaint", "reply_letter", _approved_disposition),
        DocumentKind(
            "return_notice", "销售退回通知单", "sales_return", "return_notice", _has("return_notice_number")
        ),
        DocumentKind(
            "recall_notice", "召回通知", "recall", "recall_notice", _has("customers"), per_customer=True
        ),
        DocumentKind("recall_report", "召回总结报告", "recall", "recall_report", _has("recall_summary")),
        DocumentKind(
            "complaint_statistics",
            "客户投诉案件统计表",
            "complaint_statistics",
            "complaint_statistics",
            _has("statistics"),
            internal=True,
        ),
        DocumentKind(
            "feedback_ledger",
            "市场信息反馈台帐",
            "user_feedback_ledger",
            "feedback_ledger",
            _has("feedback_ledger"),
            internal=True,
        ),
    )
}


def kinds_for(process_key: str) -> list[DocumentKind]:
    """The kinds of document a process's cases can have, in the order the seeds name them."""
    return [kind for kind in KINDS.values() if kind.process_key == process_key]


def subjects(kind: DocumentKind, data: Data) -> list[str]:
    """Whom a per-customer document can be issued to: the customers the case lists; [""] otherwise."""
    if not kind.per_customer:
        return [""]
    names: list[str] = []
    for item in data.get("customers") or []:
        if isinstance(item, Mapping) and item.get("customer_name") and item["customer_name"] not in names:
            names.append(str(item["customer_name"]))
    return names
