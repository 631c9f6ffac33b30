"""Staff inbox: tabs of tasks with filters, a task page with its form, claims and assignments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from engine import clock
from engine.accounts.users import Actor
from engine.definitions.names import translated_xml
from engine.errors import (
    ConcurrentModification,
    EngineError,
    FormInvalid,
    InstanceNotActive,
    PermissionDenied,
    SignatureNotGiven,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from engine.runtime.collaboration import ALLOWED_EXTENSIONS, MAX_COMMENT_LENGTH
from engine.runtime.signing import signature_meaning
from engine.store import queries, task_page
from engine.store.models import Attachment, Comment, Task
from processes.oversight.cases import case_data
from web import catalogue, names_view
from web.access import overseers, sees_all
from web.auth import current_actor, engine, safe_target
from web.errors import describe
from web.facts_view import FactsPanel, facts_panel
from web.form_view import SIGNATURE_PASSWORD, fold_signatures, form_context, submitted_data, without_images
from web.history_view import Entry, history_entries, people_in
from web.i18n import current_lang
from web.inbox_view import filter_options, inbox_query, inbox_url, visible_tabs
from web.messages import LANGUAGES, translate_errors

bp = Blueprint("inbox", __name__)

TAB_LABELS = {
    "mine": _l("Assigned to me"),
    "offered": _l("My roles' open tasks"),
    "done": _l("Done by me"),
    "team": _l("All open tasks"),
}
CASE_STATUS = {
    "running": _l("in progress"),
    "scheduled": _l("waiting to start"),
    "suspended": _l("suspended"),
    "error": _l("in error"),
    "completed": _l("closed"),
    "terminated": _l("terminated"),
}


# --- the inbox ----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> Any:
    """Show one tab of the user's inbox; htmx asks for the table alone when a filter changes."""
    actor = current_actor()
    everything = sees_all(actor)
    now = clock.now()
    partial = request.headers.get("HX-Target") == "inbox-results" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    with engine().sessions() as db:
        counts = None if partial else queries.inbox_counts(db, actor, now, everything)
        tab = request.args.get("tab", "")
        if tab not in visible_tabs(everything):
            tab = (
                "mine" if counts is None or counts["mine"].total or not counts["offered"].total else "offered"
            )
        query = inbox_query(request.args, tab)
        page = queries.inbox(db, actor, query, now, everything)
        labels = catalogue.labels(engine(), db)
    names_view.remember(labels)
    names_view.load_titles(page.rows)
    context = {
        "tab_labels": TAB_LABELS,
        "page": page,
        "query": page.query,
        "labels": labels,
        "now": now,
        "ui_lang": current_lang(),
        "inbox_url": inbox_url,
    }
    if partial:
        return render_template("_inbox_results.html", **context)
    return render_template(
        "inbox.html",
        counts=counts,
        options=filter_options(labels, None if everything else actor.roles, current_lang()),
        since=now.isoformat(),
        arrivals=0,
        poll_seconds=_poll_seconds(),
        **context,
    )


def _poll_seconds() -> int:
    return int(current_app.config["AFTERFLOW_INBOX_POLL_SECONDS"])


@bp.get("/inbox/status")
@login_required
def status() -> Any:
    """Return the tab counts and how many tasks arrived since the page was shown (htmx polling)."""
    actor = current_actor()
    everything = sees_all(actor)
    now = clock.now()
    since = _moment(request.args.get("since"), now)
    tab = request.args.get("tab", "mine")
    if tab not in visible_tabs(everything):
        tab = "mine"
    with engine().sessions() as db:
        counts = queries.inbox_counts(db, actor, now, everything)
        arrivals = queries.new_arrivals(db, actor, since)
    query = inbox_query(request.args, tab)
    return render_template(
        "_inbox_status.html",
        counts=counts,
        tab_labels=TAB_LABELS,
        query=query,
        since=since.isoformat(),
        arrivals=arrivals,
        poll_seconds=_poll_seconds(),
        inbox_url=inbox_url,
    )


def _moment(text: str | None, default: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return default
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- one task -------------------------------------------------------------------------------------


@dataclass
class TaskView:
    """Everything the task page shows about a task and its case."""

    task: Task
    entries: list[Entry]
    case_tasks: list[queries.CaseTask]
    comments: list[Comment]
    attachments: list[Attachment]
    names: dict[str, str]
    urgency: str
    assignable: list[tuple[str, str]]
    panel: FactsPanel
    #: What the case holds so far (start data, then every completed task's data): a form that asks
    #: again for a value the case has opens with it filled in.
    entered: dict[str, Any] = field(default_factory=dict)


def _task_or_403(task_id: str) -> Task:
    return _task_case_or_403(task_id).task


def _task_case_or_403(task_id: str) -> task_page.TaskCase:
    with engine().sessions() as db:
        found = task_page.task_case(db, task_id)
    if found is None:
        abort(404)
    if not queries.may_see_task(found.task, current_actor(), overseers()):
        abort(403)
    return found


def _task_view(found: task_page.TaskCase) -> TaskView:
    task, tasks, actor = found.task, found.case_tasks, current_actor()
    may_assign = task.role and task.state == "open" and actor.roles & engine().config.assigner_roles
    with engine().sessions() as db:
        notes = task_page.case_record(db, task.instance_id)
        events = notes.events
        named = (
            people_in(events)
            | {c.author for c in notes.comments}
            | {f.uploaded_by for f in notes.attachments}
        )
        named |= {task.assignee or "", task.completed_by or ""}
        people = task_page.people(db, named, task.role if may_assign else None)
        labels = catalogue.labels(engine(), db, known_version=found.definitions_version)
    names_view.remember(labels)
    instance = task.instance
    entries = history_entries(engine(), instance.definition, events, tasks, people.names, current_lang())
    urgency = labels.urgency(instance.process_key, instance.priority, current_lang())
    panel = facts_panel(
        engine(),
        instance.definition,
        found.facts,
        tasks,
        events,
        notes.timers,
        current_lang(),
        clock.now(),
        people.names,
    )
    return TaskView(
        task,
        entries,
        tasks,
        notes.comments,
        notes.attachments,
        people.names,
        urgency,
        people.assignable,
        panel,
        case_data(events),
    )


def may_work(task: Task, actor: Actor) -> bool:
    """Tell whether the actor may fill in and complete the task now."""
    return (
        task.state == "open"
        and (task.role is None or task.role in actor.roles)
        and task.assignee in (None, actor.username)
    )


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: str) -> Any:
    """Show a task with its case and form; complete it or keep a draft on submit."""
    found = _task_case_or_403(task_id)
    row = found.task
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = dict(row.draft or {})
    status = 200
    if request.method == "POST":
        values = submitted_data(request.form)
        # The re-entered password signs the step; it is never form data.
        password = values.pop(SIGNATURE_PASSWORD, None)
        if row.form_key:
            values = fold_signatures(engine().form_of(row.instance.definition, row.form_key), values)
        try:
            if request.form.get("action") == "draft":
                engine().save_draft(task_id, without_images(values), current_actor())
                flash(_("Draft saved."), "ok")
                return redirect(url_for("inbox.task", task_id=task_id))
            engine().complete(task_id, values, current_actor(), password=password or None)
            flash(
                _(
                    "%(task)s of %(number)s is done.",
                    task=names_view.step_label(
                        row.instance.process_key, row.spec_id, row.name, row.id, row.instance_id
                    ),
                    number=row.instance.business_number,
                ),
                "ok",
            )
            return redirect(url_for("inbox.index"))
        except FormInvalid as error:
            errors, status = translate_errors(error.errors, current_lang()), 422
            flash(_("The form has errors; check the marked fields."), "error")
        except SignatureNotGiven as error:
            flash(describe(error), "error")
            status = 422
        except (
            TaskAlreadyCompleted,
            TaskNotAvailable,
            InstanceNotActive,
            PermissionDenied,
            ConcurrentModification,
        ) as error:
            # Someone was quicker or the case moved on: the page shows why, with what was typed.
            flash(describe(error), "error")
            status = 409
    if request.method == "POST":  # the command may have changed the case: read it again
        found = _task_case_or_403(task_id)
    return _render_task(found, values, errors, status)


def _render_task(
    found: task_page.TaskCase, values: dict[str, Any], errors: dict[str, list[str]], status: int
) -> Any:
    view = _task_view(found)
    row, actor = view.task, current_actor()
    form = None
    if row.form_key and may_work(row, actor):
        definition = engine().form_of(row.instance.definition, row.form_key)
        if not values and request.method == "GET":
            values = {f.key: view.entered[f.key] for f in definition.data_fields if f.key in view.entered}
        form = form_context(definition, values, errors, current_lang(), engine())
    done_steps = {t.spec_id for t in view.case_tasks if t.state == "completed"}
    open_steps = {t.spec_id for t in view.case_tasks if t.state == "open"}
    assigner = bool(actor.roles & engine().config.assigner_roles)
    return render_template(
        "task.html",
        view=view,
        task=row,
        form=form,
        may_work=may_work(row, actor),
        may_claim=row.state == "open" and not row.assignee and (row.role is None or row.role in actor.roles),
        may_unclaim=row.state == "open"
        and bool(row.assignee)
        and (row.assignee == actor.username or assigner),
        case_status=CASE_STATUS.get(row.instance.status, row.instance.status),
        diagram={
            "current": row.spec_id if row.state == "open" else "",
            "active": sorted(open_steps - {row.spec_id}),
            "done": sorted(done_steps - open_steps),
        },
        allowed_extensions=ALLOWED_EXTENSIONS,
        limit_mb=current_app.config["AFTERFLOW_MAX_UPLOAD_BYTES"] // (1024 * 1024),
        max_comment=MAX_COMMENT_LENGTH,
        accept=",".join(f".{e}" for e in ALLOWED_EXTENSIONS),
        signature_meaning=signature_meaning(engine().definitions.meta(row.instance.definition), row.spec_id),
    ), status


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    """Claim an offered task."""
    _task_or_403(task_id)
    try:
        engine().claim(task_id, current_actor())
        flash(_("The task is yours now."), "ok")
    except EngineError as error:
        flash(describe(error), "error")
    return redirect(safe_target(request.form.get("next"), url_for("inbox.task", task_id=task_id)))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    """Give a claimed task back to the role (its holder, or a supervisor)."""
    _task_or_403(task_id)
    try:
        engine().unclaim(task_id, current_actor())
        flash(_("The task is back in the role's list."), "ok")
    except EngineError as error:
        flash(describe(error), "error")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<task_id>/assign")
@login_required
def assign(task_id: str) -> Any:
    """Assign a task to a named user holding its role (supervisors)."""
    row = _task_or_403(task_id)
    actor = current_actor()
    if not actor.roles & engine().config.assigner_roles:
        abort(403)
    assignee = request.form.get("assignee", "").strip()
    with engine().sessions() as db:
        holders = dict(queries.users_holding(db, row.role)) if row.role else {}
    if row.role and assignee not in holders:
        flash(_("%(user)s does not hold the role this task needs.", user=assignee or "—"), "error")
        return redirect(url_for("inbox.task", task_id=task_id))
    try:
        engine().assign(task_id, assignee, actor)
        flash(_("The task is assigned to %(user)s.", user=holders.get(assignee, assignee)), "ok")
    except EngineError as error:
        flash(describe(error), "error")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.get("/tasks/<task_id>/diagram.bpmn")
@login_required
def diagram(task_id: str) -> Any:
    """Return the BPMN source of the task's process version, for the diagram viewer."""
    row = _task_or_403(task_id)
    definition = row.instance.definition
    files = {
        name: text for name, text in engine().definitions.files(definition).items() if name.endswith(".bpmn")
    }
    marker = f'id="{definition.process_key}"'
    chosen = next((text for text in files.values() if marker in text), None) or next(
        iter(files.values()), None
    )
    if chosen is None:
        abort(404)
    lang = request.args.get("lang") or current_lang()
    response = Response(
        translated_xml(chosen, lang if lang in LANGUAGES else "zh"), mimetype="application/xml"
    )
    response.headers["Cache-Control"] = "private, max-age=3600"  # a deployed version never changes
    return response
