"""The roles of SPEC §2: key, Chinese and English names, and how a BPMN lane names one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    key: str
    name_zh: str
    name_en: str


ROLES: tuple[Role, ...] = (
    Role("customer_service", "客服专员", "Customer service"),
    Role("service_supervisor", "服务主任", "Service supervisor"),
    Role("technician", "技术员", "Technician"),
    Role("accountant", "会计员", "Accountant"),
    Role("sales", "销售部", "Sales"),
    Role("quality", "质量管理部", "Quality management"),
    Role("technical", "技术部", "Technical department"),
    Role("finance", "财务部", "Finance"),
    Role("warehouse", "仓库", "Warehouse"),
    # Returned goods: receiving, inspection and storage are separate duties [002 4、5.2.2–5.2.4].
    Role("receiver", "收货员", "Receiving clerk"),
    Role("inspector", "验收员", "Inspector"),
    Role("storekeeper", "保管员", "Storekeeper"),
    Role("business_manager", "业务负责人", "Business manager"),
    Role("billing_clerk", "开票员", "Billing clerk"),
    Role("general_manager", "总经理", "General manager"),
    Role("process_owner", "流程负责人", "Process owner"),
    Role("admin", "管理员", "Administrator"),
)

ROLE_KEYS: frozenset[str] = frozenset(role.key for role in ROLES)
ADMIN = "admin"
#: Who may do what beyond working their own tasks (the engine's ``EngineConfig`` role sets).
SUPERUSERS: frozenset[str] = frozenset({ADMIN})
ASSIGNERS: frozenset[str] = frozenset({"service_supervisor", ADMIN})
MANAGERS: frozenset[str] = frozenset({"general_manager", "service_supervisor", ADMIN})
MIGRATORS: frozenset[str] = frozenset({"process_owner", ADMIN})
_BY_KEY = {role.key: role for role in ROLES}
_LANE_NAMES = {
    name.strip().lower(): role.key for role in ROLES for name in (role.key, role.name_zh, role.name_en)
}


def role_for_lane(lane_name: str | None) -> str | None:
    """Return the role key a lane name stands for (its key, Chinese or English name), or None."""
    if not lane_name:
        return None
    return _LANE_NAMES.get(lane_name.strip().lower())


def role(key: str) -> Role:
    """Return the role with this key."""
    return _BY_KEY[key]


#: Who reads the customer and product archives (客户档案, 产品档案): customer service and sales
#: register calls, complaints and return requests from them, managers and process owners look
#: customers up (SPEC §2, §3).
ARCHIVE_READERS: frozenset[str] = frozenset({"customer_service", "sales", "process_owner"}) | MANAGERS
#: Who adds customers to the archive: those who register calls, and managers.
ARCHIVE_EDITORS: frozenset[str] = frozenset({"customer_service", "sales"}) | MANAGERS
#: Who reads the sales ledger (销售记录): the billing clerk checks returns against it (SPEC §6),
#: managers and process owners.
LEDGER_READERS: frozenset[str] = frozenset({"billing_clerk", "process_owner"}) | MANAGERS
#: Who imports ledger files: the billing clerk, who keeps the ledger, and managers.
LEDGER_IMPORTERS: frozenset[str] = frozenset({"billing_clerk"}) | MANAGERS
