"""Demo users: one or more per role of SPEC §2, all with the same password."""

from __future__ import annotations

DEMO_PASSWORD = "demo"

# (user name, display name, roles)
DEMO_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("cs1", "王客服", ("customer_service",)),
    ("cs2", "刘客服", ("customer_service",)),
    ("sup1", "李主任", ("service_supervisor",)),
    ("sup2", "何主任", ("service_supervisor",)),
    ("tech1", "张工", ("technician",)),
    ("tech2", "赵工", ("technician",)),
    ("acct1", "钱会计", ("accountant",)),
    ("sales1", "孙销售", ("sales",)),
    ("qa1", "周质管", ("quality",)),
    ("techdept1", "吴技术", ("technical",)),
    ("fin1", "郑财务", ("finance",)),
    ("wh1", "冯仓管", ("warehouse", "receiver", "storekeeper")),
    ("wh2", "杨验收", ("warehouse", "inspector")),
    ("bm1", "陈经理", ("business_manager",)),
    ("bill1", "褚开票", ("billing_clerk",)),
    ("gm1", "卫总", ("general_manager",)),
    ("owner1", "蒋流程", ("process_owner",)),
    ("admin", "管理员", ("admin",)),
)
