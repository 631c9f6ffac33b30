"""Staff inbox: my tasks, my roles' open tasks, a task page with its form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from engine import queries
from engine.errors import (
    ConcurrentModification,
    EngineError,
    FormInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from engine.models import ProcessDefinition, ProcessInstance
from engine.projection import LIST_FIELDS
from web.app import current_lang
from web.auth import current_actor, engine, safe_target
from web.form_view import form_context, submitted_data

bp = Blueprint("inbox", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    """Show the user's tasks and the open tasks of its roles."""
    actor = current_actor()
    with engine().sessions() as db:
        mine = queries.assigned_to(db, actor.username)
        offered = queries.offered_to(db, actor.roles)
        done = queries.done_by(db, actor.username, limit=20)
    urgency = _urgency_labels([*mine, *offered, *done], current_lang())
    return render_template("inbox.html", mine=mine, offered=offered, done=done, urgency=urgency)


def _urgency_labels(rows: list[queries.TaskRow], lang: str) -> dict[int, str]:
    """Name each case's urgency as its process's forms do ("紧急", not "emergency"), by instance id."""
    ids = {row.instance_id for row in rows if row.priority}
    if not ids:
        return {}
    with engine().sessions() as db:
        pairs = db.execute(
            select(ProcessInstance.id, ProcessDefinition)
            .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id.in_(ids))
        ).all()
    options: dict[int, dict[str, str]] = {}
    for _instance_id, definition in pairs:
        if definition.id not in options:
            found: dict[str, str] = {}
            for form_key in definition.meta.get("forms", {}):
                for field in engine().form_of(definition, form_key).fields:
                    if field.key in LIST_FIELDS["priority"]:
                        for value, label_zh, label_en in field.options:
                            found.setdefault(value, label_en if lang == "en" else label_zh)
            options[definition.id] = found
    definition_of = {instance_id: definition.id for instance_id, definition in pairs}
    return {
        row.instance_id: options[definition_of[row.instance_id]].get(str(row.priority), str(row.priority))
        for row in rows
        if row.instance_id in definition_of
    }


def _task_or_403(task_id: str) -> Any:
    with engine().sessions() as db:
        try:
            task = queries.task_for(db, task_id)
        except NotFound:
            abort(404)
        if not queries.may_see_task(task, current_actor()):
            abort(403)
        events = queries.history(db, task.instance_id)
        return task, events


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: str) -> Any:
    """Show a task with its form; complete it on submit."""
    row, events = _task_or_403(task_id)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = dict(row.draft or {})
    status = 200
    if request.method == "POST":
        values = submitted_data(request.form)
        try:
            if request.form.get("action") == "draft":
                engine().save_draft(task_id, values, current_actor())
                flash(_("Draft saved."), "ok")
                return redirect(url_for("inbox.task", task_id=task_id))
            engine().complete(task_id, values, current_actor(), lang=current_lang())
            flash(
                _("%(task)s of %(number)s is done.", task=row.name, number=row.instance.business_number), "ok"
            )
            return redirect(url_for("inbox.index"))
        except FormInvalid as error:
            errors, status = error.errors, 422
            flash(_("The form has errors; check the marked fields."), "error")
        except TaskAlreadyCompleted as error:
            flash(_("This task was already completed by %(user)s.", user=error.completed_by), "error")
            status = 409
        except (TaskNotAvailable, InstanceNotActive, PermissionDenied, ConcurrentModification) as error:
            flash(_describe(error), "error")
            status = 409
        row, events = _task_or_403(task_id)
    form = None
    if row.form_key:
        form = engine().form_of(row.instance.definition, row.form_key)
    context = form_context(form, values, errors, current_lang(), engine()) if form else None
    return render_template("task.html", task=row, form=context, events=events), status


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    """Claim an offered task."""
    _task_or_403(task_id)
    try:
        engine().claim(task_id, current_actor())
        flash(_("The task is yours now."), "ok")
    except EngineError as error:
        flash(_describe(error), "error")
    return redirect(safe_target(request.form.get("next"), url_for("inbox.task", task_id=task_id)))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    """Give a claimed task back to the role."""
    _task_or_403(task_id)
    try:
        engine().unclaim(task_id, current_actor())
        flash(_("The task is back in the role's list."), "ok")
    except EngineError as error:
        flash(_describe(error), "error")
    return redirect(url_for("inbox.index"))


def _describe(error: EngineError) -> str:
    if isinstance(error, TaskAlreadyCompleted):
        return _("This task was already completed by %(user)s.", user=error.completed_by)
    if isinstance(error, TaskNotAvailable) and error.details.get("assignee"):
        return _("This task is assigned to %(user)s.", user=error.details["assignee"])
    if isinstance(error, TaskNotAvailable):
        return _("This task is no longer open.")
    if isinstance(error, InstanceNotActive):
        return _("The case is not running, so nothing can be done on it now.")
    if isinstance(error, PermissionDenied):
        return _("Your roles do not allow this.")
    return _("The action could not be carried out.")
