"""The managers' view: cases on their diagrams, operations with reasons, KPIs, complaint statistics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook

from engine import clock
from engine.definitions.names import translated_xml
from engine.errors import EngineError
from engine.store import queries
from engine.store.models import ProcessDefinition
from processes.kpis.facts import DEPARTMENT_FIELD
from processes.oversight.cases import (
    PAGE_SIZES,
    STATUSES,
    CaseFilter,
    bpmn_xml,
    case_detail,
    filter_choices,
    list_cases,
    process_stats,
)
from processes.oversight.stages import progress
from processes.records import archive
from web import catalogue
from web.auth import current_actor, engine
from web.exports import append_row, csv_download, xlsx_download
from web.history_view import history_entries, people_in, readable_case_data
from web.i18n import current_lang, due_state, format_when
from web.oversight.blueprint import bp, company_timezone, status_label


def _date(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(name: str, default: int | None) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else default


def case_filter() -> CaseFilter:
    """Read the case list's filter from the query string."""
    args = request.args
    status = args.get("status", "")
    return CaseFilter(
        q=args.get("q", "")[:100],
        process=args.get("process", "")[:128],
        version=_int("version", None),
        status=status if status in STATUSES else "",
        step=args.get("step", "")[:100],
        customer=args.get("customer", "")[:100],
        assignee=args.get("assignee", "")[:64],
        technician=args.get("technician", "")[:64],
        department=args.get("department", "")[:128],
        breached=args.get("breached", "") if args.get("breached") in ("yes", "no", "open") else "",
        started_from=_date("started_from"),
        started_to=_date("started_to"),
        ended_from=_date("ended_from"),
        ended_to=_date("ended_to"),
        linked_to="repair" if args.get("linked_to") == "repair" else "",
        page=_int("page", 1) or 1,
        per_page=_int("per_page", 50) or 50,
        timezone=company_timezone(),
    )


# --- case list -------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    ("business_number", "Business number"),
    ("process", "Process"),
    ("version", "Version"),
    ("status", "Status"),
    ("current_step", "Current step"),
    ("customer", "Customer"),
    ("assignee", "Assignee"),
    ("started", "Started"),
    ("due", "Due"),
    ("ended", "Ended"),
)


@bp.get("")
@bp.get("/")
def index() -> Any:
    """``/manage`` lands on the case list."""
    return redirect(url_for("oversight.cases"))


@bp.get("/cases")
def cases() -> Any:
    """The case list with filters, search and paging; ``format=csv|xlsx`` exports what is shown."""
    f = case_filter()
    export = request.args.get("format")
    with engine().sessions() as session:
        page = list_cases(session, f, everything=export in ("csv", "xlsx"))
        choices = filter_choices(session)
        department = (
            catalogue.labels(engine(), session).option(DEPARTMENT_FIELD, f.department, current_lang())
            if f.department
            else ""
        )
    if export in ("csv", "xlsx"):
        return _export_cases(page.rows, export)
    return render_template(
        "oversight/cases.html",
        page=page,
        f=f,
        args=f.args(),
        choices=choices,
        statuses=STATUSES,
        page_sizes=PAGE_SIZES,
        department=department,
    )


def _export_cases(rows: Sequence[Any], kind: str) -> Response:
    header = [_(label) for _key, label in EXPORT_COLUMNS]
    table = [
        [
            r.business_number,
            r.process_name,
            r.version,
            status_label(r.shown_status),
            r.current_step or "",
            r.customer_name or "",
            ", ".join(r.assignees),
            format_when(r.started_at),
            format_when(r.due_at) if r.due_at else "",
            format_when(r.ended_at) if r.ended_at else "",
        ]
        for r in rows
    ]
    return _table_response(header, table, kind, "cases")


def _table_response(header: list[str], table: list[list[Any]], kind: str, name: str) -> Response:
    stamp = clock.now().strftime("%Y%m%d")
    if kind == "csv":
        return csv_download(header, table, f"{name}-{stamp}.csv")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    append_row(sheet, header)
    for row in table:
        append_row(sheet, row)
    return xlsx_download(book, f"{name}-{stamp}.xlsx")


# --- one case ----------------------------------------------------------------------------------------


@bp.get("/cases/<int:instance_id>")
def case(instance_id: int) -> Any:
    """One case as managers and inspectors read it: a header with its SLA state, the process's
    stages, the diagram, what each step entered, linked cases, operations and the timeline."""
    lang = current_lang()
    with engine().sessions() as session:
        detail = case_detail(session, instance_id)
        if detail is None:
            abort(404)
        xml = translated_xml(bpmn_xml(detail.definition), lang)
        tasks = queries.case_tasks(session, instance_id)
        stages = progress(detail.instance, detail.tasks)
        candidates = {t.role: queries.users_holding(session, t.role) for t in detail.open_tasks if t.role}
        customer = (
            archive.customer_named(session, detail.instance.customer_name)
            if detail.instance.customer_name
            else None
        )
        customer_id = customer.id if customer is not None else None
        names = queries.display_names(session, people_in(detail.events))
        labels = catalogue.labels(engine(), session)
    entries = history_entries(engine(), detail.definition, detail.events, tasks, names, lang)
    marking = {
        "completed": sorted(detail.completed_elements),
        "active": sorted(detail.active_elements),
        "late": sorted(detail.late_elements),
    }
    timeline = list(zip(entries, detail.events, strict=True))
    return render_template(
        "oversight/case.html",
        d=detail,
        xml=xml,
        marking=marking,
        candidates=candidates,
        timeline=timeline,
        entered=[(entry, event) for entry, event in timeline if entry.details],
        stages=stages,
        sla=sla_state(detail),
        customer_id=customer_id,
        ui_lang=lang,
        case_data=readable_case_data(labels, detail.data, lang, detail.instance.process_key),
        technical=_is_process_owner(),
    )


def _is_process_owner() -> bool:
    """Whether the user looks after the diagrams (moves cases between versions), and so may read
    the variable names behind the labels."""
    return bool(current_actor().roles & engine().config.migrator_roles)


def sla_state(detail: Any) -> str:
    """How the case stands against its limits: ``breached``, ``late``, ``today``, ``on_time`` or ``ended``."""
    instance = detail.instance
    if instance.status in ("completed", "terminated"):
        return "ended_breached" if detail.breaches else "ended"
    if detail.breaches or instance.late:
        return "breached" if detail.breaches else "late"
    state = due_state(instance.due_at)
    return {"overdue": "late", "today": "today"}.get(state, "on_time" if instance.due_at else "none")


@bp.post("/cases/<int:instance_id>/<operation>")
def operate(instance_id: int, operation: str) -> Any:
    """Suspend, resume, terminate or retry a case, with a reason that goes into the audit log."""
    commands = {
        "suspend": engine().suspend,
        "resume": engine().resume,
        "terminate": engine().terminate,
        "retry": engine().retry,
    }
    command = commands.get(operation)
    if command is None:
        abort(404)
    reason = request.form.get("reason", "").strip()
    back = redirect(url_for("oversight.case", instance_id=instance_id))
    if not reason:
        flash(_("Give a reason: it goes into the audit log."), "error")
        return back, 422
    try:
        command(instance_id, current_actor(), reason)
    except EngineError as error:
        flash(error.message, "error")
        return back, 409
    flash(_("Done: %(operation)s.", operation=_operation_label(operation)), "ok")
    return back


def _operation_label(operation: str) -> str:
    return {
        "suspend": _("suspend"),
        "resume": _("resume"),
        "terminate": _("terminate"),
        "retry": _("retry"),
        "reassign": _("reassign"),
    }.get(operation, operation)


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str) -> Any:
    """Give an open task to another user holding its role, with a reason."""
    instance_id = _int_form("instance_id")
    back = redirect(
        url_for("oversight.case", instance_id=instance_id) if instance_id else url_for("oversight.cases")
    )
    reason = request.form.get("reason", "").strip()
    assignee = request.form.get("assignee", "").strip()
    if not reason or not assignee:
        flash(_("Give a reason and the new assignee."), "error")
        return back, 422
    try:
        engine().assign(task_id, assignee, current_actor())
        engine().note_reassignment(task_id, reason, current_actor())
    except EngineError as error:
        flash(error.message, "error")
        return back, 409
    flash(_("Done: %(operation)s.", operation=_operation_label("reassign")), "ok")
    return back


def _int_form(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() else None


# --- process view -------------------------------------------------------------------------------------


@bp.get("/processes")
def processes() -> Any:
    """Every deployed version, linking to its statistics."""
    with engine().sessions() as session:
        definitions = list(
            session.query(ProcessDefinition).order_by(
                ProcessDefinition.process_key, ProcessDefinition.version.desc()
            )
        )
    return render_template("oversight/processes.html", definitions=definitions)


@bp.get("/processes/<int:definition_id>")
def process(definition_id: int) -> Any:
    """One version: cases on each element now, how many passed, average and p90 time per step."""
    with engine().sessions() as session:
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            abort(404)
        stats = process_stats(session, definition_id)
        xml = translated_xml(bpmn_xml(definition), current_lang())
    counts = {s.element_id: {"now": s.now, "passed": s.passed} for s in stats}
    return render_template(
        "oversight/process.html", definition=definition, stats=stats, xml=xml, counts=counts
    )


from web.oversight import figures  # noqa: E402,F401  (registers the KPI and statistics pages)

__all__ = ["bp", "company_timezone", "status_label"]
