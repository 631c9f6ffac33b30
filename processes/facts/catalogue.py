"""Which facts each process's task pages show [SPEC §4–§7]: the case, the look-ups, the decisions."""

from __future__ import annotations

from processes.facts.model import Decision, Fact, ProcessFacts, Table

FOUND = {"True": ("已找到", "found"), "False": ("未找到", "not found")}
CATEGORIES = {
    "A": ("A 合同服务", "A contract service"),
    "B": ("B 免费服务", "B free warranty service"),
    "C": ("C 有费服务", "C paid service"),
}


def _from_form(form: str, *paths: str) -> tuple[Fact, ...]:
    """Facts labelled by the fields of one form, in the order given."""
    return tuple(Fact(path, form) for path in paths)


REPAIR = ProcessFacts(
    facts=(
        *_from_form(
            "repair_register",
            "customer_name",
            "customer_phone",
            "customer_address",
            "product_model",
            "serial_number",
            "fault_description",
            "urgency",
            "distance_band",
            "cause",
        ),
        Fact("product_in_archive", zh="产品档案", en="Product archive", values=FOUND),
        *_from_form(
            "repair_register",
            "warranty_end",
            "contract_in_force",
        ),
        Fact("contract_number", zh="维保合同号", en="Maintenance contract"),
        Fact("technician", "repair_dispatch"),
    ),
    decisions=(Decision("decide_category", "服务类别", "Service category", "service_category", CATEGORIES),),
    limits=(
        Fact("dispatch_due", zh="派工时限", en="Dispatch limit"),
        Fact("arrival_due", zh="到达现场时限", en="Arrival limit"),
        Fact("repair_due", zh="维修时限", en="Repair limit"),
        Fact("loaner_due", zh="提供备用机时限", en="Loaner limit"),
        Fact("parts_return_due", zh="归还借用物料时限", en="Parts return limit"),
    ),
    rework=(
        Fact(
            "acceptance_notes",
            zh="上次验收未通过的意见",
            en="Why the last acceptance failed",
            when=("accepted", "no"),
        ),
    ),
)

COMPLAINT = ProcessFacts(
    facts=(
        *_from_form(
            "complaint_receive",
            "customer_name",
            "customer_phone",
            "customer_address",
            "product_name",
            "product_model",
            "serial_number",
            "order_number",
            "quantity",
            "delivery_date",
            "defect_quantity",
            "complaint_category",
            "complaint_text",
            "customer_request",
            "market",
            "joint_investigation_requested",
        ),
        Fact("original_number", zh="原投诉编号", en="Original complaint"),
        Fact("severity", "complaint_register"),
        Fact("approved_disposition", "complaint_approval"),
    ),
    decisions=(
        Decision(
            "decide_severity",
            "建议投诉等级",
            "Suggested severity",
            "suggested_severity",
            {"major": ("重大", "major"), "general": ("一般", "general")},
        ),
    ),
    limits=(Fact("closure_due", zh="结案时限", en="Closure limit"),),
    rework=(
        Fact("previous_disposition", zh="原投诉的处理方案", en="The original complaint's disposition"),
        Fact("customer_objection", zh="客户不接受的理由", en="Why the customer did not accept it"),
    ),
)

RETURN = ProcessFacts(
    facts=(
        *_from_form(
            "return_request",
            "customer_name",
            "customer_type",
            "customer_phone",
            "product_name",
            "specification",
            "batch_number",
            "quantity",
            "expiry_date",
            "purchase_date",
            "reason",
            "reason_detail",
            "package_intact",
            "cold_chain",
            "requested_remedy",
        ),
        Fact("ledger.found", zh="销售记录查询", en="Sales ledger look-up", values=FOUND),
        Fact("ledger.reason", zh="查询说明", en="Look-up note"),
        Fact("ledger.document_number", zh="原销售单号", en="Sales document"),
        Fact("ledger.sale_date", zh="销售日期", en="Sale date"),
        Fact("ledger.quantity_sold", zh="销售数量", en="Quantity sold"),
        Fact("ledger.expiry_date", zh="销售记录有效期至", en="Expiry in the ledger"),
        Fact("ledger.unit_price", zh="销售单价", en="Unit price in the ledger"),
        Fact("ineligible_reason", zh="不符合退货条件的原因", en="Why the return is not eligible"),
        Fact("rejection_reason", zh="不予退回的原因", en="Why the return is refused"),
        Fact("receipt_refusal_reason", zh="拒收原因", en="Why the goods were refused"),
    ),
    decisions=(
        Decision(
            "decide_eligibility",
            "退货条件",
            "Return eligibility",
            "eligible",
            {"True": ("符合", "eligible"), "False": ("不符合", "not eligible")},
        ),
    ),
    limits=(Fact("refund_due", zh="退款或换货时限", en="Refund or replacement limit"),),
    tables=(
        Table(
            "ledger.lines",
            "匹配的销售记录",
            "Matching sales ledger rows",
            (
                Fact("document_number", zh="销售单号", en="Document"),
                Fact("sale_date", zh="销售日期", en="Sale date"),
                Fact("purchaser_name", zh="购货单位", en="Purchaser"),
                Fact("product_name", zh="品名", en="Product"),
                Fact("batch_number", zh="批号", en="Batch"),
                Fact("quantity", zh="数量", en="Quantity"),
                Fact("expiry_date", zh="有效期至", en="Expiry"),
            ),
        ),
    ),
)

RECALL = ProcessFacts(
    facts=(
        *_from_form(
            "recall_open",
            "product_name",
            "specification",
            "manufacturer",
            "batch_numbers",
            "recall_type",
            "recall_level",
            "reason",
        ),
    ),
    keys=("customers", "total_shipped", "total_recovered"),
)

#: The facts each process's task pages show, by process key.
PROCESS_FACTS: dict[str, ProcessFacts] = {
    "repair_service": REPAIR,
    "complaint": COMPLAINT,
    "sales_return": RETURN,
    "recall": RECALL,
}


def fact_keys() -> tuple[str, ...]:
    """Every case-data key some task page shows (the engine keeps them on the case row)."""
    found: set[str] = set()
    for facts in PROCESS_FACTS.values():
        found |= facts.all_keys()
    return tuple(sorted(found))
