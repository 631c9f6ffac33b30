"""The monthly complaint statistics (客户投诉案件统计表) a scheduled case prepares and signs off.

"每月10日前汇总上月份结案的案件，会同技术部及有关部门主管判定责任归属确认及比率" [001 客户反应调查
及处理 6]: on the 1st the scheduled process ``complaint_statistics`` takes last month's closed
complaints, by category and responsible department, with each department's share; quality
prepares the table and the technical department confirms the responsibility before the 10th.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from engine.context import current
from engine.kpis import complaint_statistics, previous_month
from processes.handlers import service
from processes.handlers.records import company_today


@service("complaint_statistics_last_month")
def complaint_statistics_last_month() -> dict[str, Any]:
    """Last month's closed complaints by category and responsible department, with the ratio."""
    context = current()
    zone = context.timezone
    name = zone.key if isinstance(zone, ZoneInfo) else "Asia/Shanghai"
    month = previous_month(company_today(context))
    return complaint_statistics(context.session, month, name).as_json()
