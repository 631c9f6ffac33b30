"""The managers' figures: the KPI dashboard and the monthly complaint statistics (客户投诉案件统计表)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook

from engine import clock
from engine.store import queries
from processes.kpis.dashboard import (
    CATEGORY_FIELD,
    KPI_NAMES,
    RATING_CRITERIA,
    SEVERITY_FIELD,
    UNCLASSIFIED,
    UNDECIDED,
    complaint_statistics,
    current_dashboard,
    month_bounds,
    previous_month,
)
from processes.kpis.facts import DEPARTMENT_FIELD
from web import catalogue
from web.auth import engine
from web.exports import append_row, xlsx_download
from web.i18n import current_lang
from web.oversight.blueprint import bp, company_timezone, status_label

# --- KPIs ------------------------------------------------------------------------------------------------


#: The cases each KPI counts (its denominator), as case-list filters.
KPI_CASES: dict[str, dict[str, Any]] = {
    "timeliness": {"status": "completed"},
    "satisfaction": {"process": "repair_service", "status": "completed"},
    "complaint_rate": {"process": "repair_service", "status": "completed"},
    "closure": {"process": "complaint", "status": "completed"},
}


def cases_behind(dimension: str, key: str, kpi: str | None = None) -> str:
    """The case list of the cases behind one figure of a breakdown (a KPI's, or its open breaches)."""
    args = dict(KPI_CASES[kpi]) if kpi else {"breached": "open"}
    args[dimension] = key
    return url_for("oversight.cases", **args)


def _card_links() -> dict[str, str]:
    """What each KPI card opens: the cases it counts; the complaint rate opens the complaints."""
    links: dict[str, str] = {name: url_for("oversight.cases", **KPI_CASES[name]) for name in KPI_NAMES}
    links["complaint_rate"] = url_for("oversight.cases", process="complaint", linked_to="repair")
    return links


def _ratio(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


@bp.get("/kpis")
def kpis() -> Any:
    """The KPI dashboard (ECharts), each figure linking to the cases behind it."""
    # The read model is refreshed for the cases changed since the last view, then aggregated.
    board = current_dashboard(engine(), company_timezone())
    charts: dict[str, Any] = {"months": board.months, "kpis": {}, "targets": {}}
    for name in KPI_NAMES:
        kpi = board.kpis[name]
        charts["kpis"][name] = {
            "overall": _ratio(kpi.overall.value),
            "by_month": [
                _ratio(kpi.by["month"][m].value) if m in kpi.by["month"] else None for m in board.months
            ],
        }
        charts["targets"][name] = board.targets[name][0] * 100
    charts["criteria"] = {
        c: [
            _ratio(board.criteria_by_month[c][m].value)
            if c in board.criteria_by_month and m in board.criteria_by_month[c]
            else None
            for m in board.months
        ]
        for c in RATING_CRITERIA
    }
    charts["month_links"] = {
        m: url_for(
            "oversight.cases",
            ended_from=month_bounds(m)[0].isoformat(),
            ended_to=month_bounds(m)[1].isoformat(),
            status="completed",
        )
        for m in board.months
    }
    dimension_keys = {
        d: sorted({k for n in KPI_NAMES for k in board.kpis[n].by[d]} | set(board.open_breaches[d]))
        for d in ("process", "technician", "department")
    }
    names = _dimension_names(dimension_keys)
    charts["criteria_labels"] = names["criterion"]
    charts["target_label"] = _("target")
    return render_template(
        "oversight/kpis.html",
        board=board,
        charts_json=json.dumps(charts, ensure_ascii=False),
        targets=board.targets,
        kpi_names=KPI_NAMES,
        criteria=RATING_CRITERIA,
        ratio=_ratio,
        month_bounds=month_bounds,
        dimension_keys=dimension_keys,
        names=names,
        cases_behind=cases_behind,
        card_links=_card_links(),
    )


def _dimension_names(keys: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """What managers read for each key of a breakdown: process and department names as the
    diagrams and forms give them, technicians by name, criteria by the follow-up card's labels."""
    lang = current_lang()
    with engine().sessions() as session:
        labels = catalogue.labels(engine(), session)
        people = queries.display_names(session, keys["technician"])
    return {
        "process": {k: labels.process(k, lang) for k in keys["process"]},
        "technician": {k: people.get(k) or k for k in keys["technician"]},
        "department": {k: labels.option(DEPARTMENT_FIELD, k, lang) for k in keys["department"]},
        "criterion": {c: labels.field_label(c, lang) for c in RATING_CRITERIA},
    }


# --- monthly complaint statistics ---------------------------------------------------------------------


@bp.get("/complaints")
def complaints() -> Any:
    """客户投诉案件统计表 for a month (the previous one by default); ``format=xlsx`` exports it."""
    month = request.args.get("month", "")
    if not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
        month = previous_month(clock.now().date())
    with engine().sessions() as session:
        stats = complaint_statistics(session, month, company_timezone())
        names = ComplaintNames(catalogue.labels(engine(), session), current_lang())
    if request.args.get("format") == "xlsx":
        return _export_complaints(stats, names)
    return render_template("oversight/complaints.html", stats=stats, names=names)


class ComplaintNames:
    """The statistics' codes as the complaint forms name them, in the reader's language."""

    def __init__(self, labels: catalogue.Labels, lang: str) -> None:
        self.labels, self.lang = labels, lang

    def category(self, value: str) -> str:
        if value == UNCLASSIFIED:
            return _("Not classified")
        return self.labels.option(CATEGORY_FIELD, value, self.lang)

    def department(self, value: str) -> str:
        if value == UNDECIDED:
            return _("Not decided yet")
        return self.labels.option(DEPARTMENT_FIELD, value, self.lang)

    def severity(self, value: str) -> str:
        return self.labels.option(SEVERITY_FIELD, value, self.lang) if value else ""

    @staticmethod
    def status(value: str) -> str:
        return status_label(value)


def _export_complaints(stats: Any, names: ComplaintNames) -> Response:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = stats.month
    append_row(sheet, [_("Customer complaint statistics") + f" {stats.month}"])
    append_row(
        sheet, [_("Category"), _("Responsible department"), _("Cases"), _("Closed within limit"), _("Major")]
    )
    for (category, department), (count, within, major) in sorted(stats.cells.items()):
        append_row(sheet, [names.category(category), names.department(department), count, within, major])
    append_row(sheet, [_("Total"), "", stats.total, stats.within_limit, ""])
    append_row(sheet, [])
    append_row(sheet, [_("Responsible department"), _("Cases"), _("Responsibility ratio")])
    for department, (count, ratio) in sorted(stats.responsibility.items()):
        append_row(sheet, [names.department(department), count, round(ratio, 4)])
    cases_sheet = book.create_sheet(_("Cases"))
    append_row(
        cases_sheet,
        [
            _("Business number"),
            _("Customer"),
            _("Category"),
            _("Responsible department"),
            _("Severity"),
            _("Status"),
            _("Closed within limit"),
        ],
    )
    for item in stats.cases:
        append_row(
            cases_sheet,
            [
                item["business_number"],
                item["customer_name"] or "",
                names.category(item["category"]),
                names.department(item["department"]),
                names.severity(item["severity"]),
                names.status(item["status"]),
                "Y" if item["closed_within_limit"] else "N",
            ],
        )
    return xlsx_download(book, f"complaints-{stats.month}.xlsx")
