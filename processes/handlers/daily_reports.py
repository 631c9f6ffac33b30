"""The service supervisor's daily report, summed up from the technicians' reviewed daily reports.

"技术员应在每日将所从事修护工作的类别及所耗用时间填在「技术员工作日报表」上，并送交给服务主任进行审查
… 服务主任应逐日依据技术人员日报表，将当天所属人员服务的类别及所耗时间，填「服务主任日报表」"
[000 篇二 13)–14)]. The kinds are A paid, B contract, C free service and D internal
administrative work [001 维护与保养作业程序 1]. A technician's report is a ``technician_daily_report``
case: its start form holds the date and the hours by kind; it counts once the supervisor has
reviewed it (the case is completed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.runtime.context import current
from engine.store.models import Event, ProcessInstance
from processes.handlers import service

TECHNICIAN_REPORT = "technician_daily_report"
#: The start form's hour fields, by the seed's work kind.
HOURS_BY_KIND = {"A": "hours_paid", "B": "hours_contract", "C": "hours_free", "D": "hours_admin"}


def _hours(data: dict[str, Any]) -> dict[str, float]:
    return {kind: float(data.get(key) or 0) for kind, key in HOURS_BY_KIND.items()}


@service("technician_reports_of_day")
def technician_reports_of_day(report_date: str) -> dict[str, Any]:
    """The reviewed technicians' reports of ``report_date`` (YYYY-MM-DD): hours by kind, each and in all."""
    session = current().session
    rows = session.execute(
        select(ProcessInstance.business_number, ProcessInstance.started_by, Event.data)
        .join(Event, Event.instance_id == ProcessInstance.id)
        .where(
            ProcessInstance.process_key == TECHNICIAN_REPORT,
            ProcessInstance.status == "completed",
            Event.action == "instance_started",
        )
        .order_by(ProcessInstance.started_by, ProcessInstance.id)
    )
    reports = []
    totals = dict.fromkeys(HOURS_BY_KIND, 0.0)
    for number, technician, event_data in rows:
        data = (event_data or {}).get("data") or {}
        if str(data.get("report_date") or "")[:10] != report_date[:10]:
            continue
        hours = _hours(data)
        for kind, value in hours.items():
            totals[kind] += value
        reports.append(
            {
                "business_number": number,
                "technician": technician or "",
                "hours": hours,
                "total_hours": sum(hours.values()),
                "admin_work": str(data.get("admin_work_description") or ""),
            }
        )
    return {
        "report_date": report_date[:10],
        "reports": reports,
        "hours": totals,
        "total_hours": sum(totals.values()),
    }
