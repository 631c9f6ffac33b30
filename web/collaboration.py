"""Comments and file attachments on a case, added from a task page; files downloaded by case workers."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.runtime.collaboration import (
    ALLOWED_EXTENSIONS,
    MAX_COMMENT_LENGTH,
    AttachmentRefused,
    Collaboration,
    CommentRefused,
    extension_of,
)
from engine.store import queries
from engine.store.models import Task
from web.access import overseers
from web.auth import current_actor, engine

bp = Blueprint("collaboration", __name__)


def collaboration() -> Collaboration:
    """Return the app's collaboration commands."""
    commands: Collaboration = current_app.extensions["afterflow_collaboration"]
    return commands


def _task_anchor(task_id: str, anchor: str) -> str:
    return url_for("inbox.task", task_id=task_id) + f"#{anchor}"


@bp.post("/tasks/<task_id>/comments")
@login_required
def add_comment(task_id: str) -> Any:
    """Add a comment to the task's case."""
    instance_id = _instance_of(task_id)
    try:
        comment_id = collaboration().add_comment(
            instance_id, task_id, request.form.get("body", ""), current_actor()
        )
    except CommentRefused as error:
        if error.reason == "too_long":
            flash(_("A comment may have at most %(n)s characters.", n=MAX_COMMENT_LENGTH), "error")
        else:
            flash(_("Write something before adding the comment."), "error")
        return redirect(_task_anchor(task_id, "comments"))
    flash(_("Comment added."), "ok")
    return redirect(_task_anchor(task_id, f"comment-{comment_id}"))


@bp.get("/comments/<int:comment_id>")
@login_required
def comment(comment_id: int) -> Any:
    """Open a comment where it was written: on its task's page (for those who may see that task)."""
    with engine().sessions() as db:
        found = queries.comment(db, comment_id)
        task = db.get(Task, found.task_id) if found.task_id else None
        if task is None or not queries.may_see_task(task, current_actor(), overseers()):
            abort(403)
    return redirect(_task_anchor(task.id, f"comment-{comment_id}"))


@bp.post("/tasks/<task_id>/attachments")
@login_required
def add_attachment(task_id: str) -> Any:
    """Store a file on the task's case after checking its size, name and content."""
    instance_id = _instance_of(task_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to attach."), "error")
        return redirect(_task_anchor(task_id, "attachments"))
    content = upload.read()
    try:
        collaboration().add_attachment(instance_id, task_id, upload.filename, content, current_actor())
    except AttachmentRefused as error:
        flash(_refusal(error, upload.filename), "error")
        return redirect(_task_anchor(task_id, "attachments"))
    flash(_("%(name)s is attached.", name=upload.filename), "ok")
    return redirect(_task_anchor(task_id, "attachments"))


def _refusal(error: AttachmentRefused, filename: str) -> str:
    kinds = ", ".join(e.upper() for e in ALLOWED_EXTENSIONS)
    if error.reason == "too_large":
        limit = current_app.config["AFTERFLOW_MAX_UPLOAD_BYTES"] // (1024 * 1024)
        return _("%(name)s is larger than %(limit)s MB.", name=filename, limit=limit)
    if error.reason == "empty":
        return _("%(name)s is empty.", name=filename)
    if error.reason == "content":
        return _(
            "%(name)s is not really a %(kind)s file; only %(kinds)s files are accepted.",
            name=filename,
            kind=extension_of(filename).upper(),
            kinds=kinds,
        )
    return _("Files like %(name)s are not accepted; only %(kinds)s files are.", name=filename, kinds=kinds)


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    """Send a stored file to someone who may see its case (always as a download)."""
    stored = collaboration().attachment_file(attachment_id, current_actor())
    response = send_file(
        BytesIO(stored.content),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.filename,
        etag=stored.sha256,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _instance_of(task_id: str) -> int:
    with engine().sessions() as db:
        task = queries.task_for(db, task_id)
        if not queries.may_see_task(task, current_actor(), overseers()):
            abort(403)
        return task.instance_id
