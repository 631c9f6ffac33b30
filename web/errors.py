"""HTTP answers to refused commands, in one place: domain exceptions to status codes and error pages.

Views let ``NotFound`` and ``PermissionDenied`` (and any other refusal they do not turn into a
message on the page) propagate; the handlers registered here answer them, so no view repeats
``except NotFound: abort(404)``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.errors import (
    ConcurrentModification,
    DeploymentInvalid,
    DutiesNotSeparated,
    EngineError,
    FormInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    SignatureNotGiven,
    TaskAlreadyCompleted,
    TaskNotAvailable,
)
from web.names_view import person

#: The HTTP status of each refusal; the first class an error is an instance of decides.
STATUS_OF: tuple[tuple[type[EngineError], int], ...] = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (TaskAlreadyCompleted, 409),
    (TaskNotAvailable, 409),
    (InstanceNotActive, 409),
    (ConcurrentModification, 409),
    (FormInvalid, 422),
    (DeploymentInvalid, 422),
    (EngineError, 422),
)


def status_of(error: EngineError) -> int:
    """Return the HTTP status that answers a refused command."""
    return next(status for kind, status in STATUS_OF if isinstance(error, kind))


def describe(error: EngineError) -> str:
    """Say in the user's language why a command was refused."""
    if isinstance(error, TaskAlreadyCompleted):
        return _("This task was already completed by %(user)s.", user=error.completed_by)
    if isinstance(error, TaskNotAvailable) and error.details.get("assignee"):
        return _("This task is assigned to %(user)s.", user=person(str(error.details["assignee"])))
    if isinstance(error, TaskNotAvailable):
        return _("This task is no longer open.")
    if isinstance(error, InstanceNotActive):
        return _("The case is not running, so nothing can be done on it now.")
    if isinstance(error, DutiesNotSeparated):
        return _(
            "You did “%(step)s” on this case yourself; another person must do this step (separation of duties).",
            step=error.step,
        )
    if isinstance(error, PermissionDenied):
        return _("Your roles do not allow this.")
    if isinstance(error, SignatureNotGiven) and error.reason == "wrong":
        return _("The password does not match; nothing was signed and the task is still open.")
    if isinstance(error, SignatureNotGiven):
        return _(
            "This step is signed (%(meaning)s): re-enter your password to sign it. Nothing was saved.",
            meaning=error.meaning,
        )
    return _("The action could not be carried out.")


def register_error_handlers(app: Flask) -> None:
    """Answer HTTP errors with the error page and refused commands with their status."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(EngineError, _refused)


def _http_error(error: HTTPException) -> Any:
    api_error = current_app.extensions.get("afterflow_api_error")
    if api_error is not None and api_error.wants(request.path):  # the REST API answers in JSON
        return api_error(error)
    return _error_page(error.code or 500)


def _refused(error: EngineError) -> Any:
    status = status_of(error)
    # 404 and 403 say what the page says for any missing or forbidden page; a refusal in a
    # case's state says why, in the user's language.
    shown = status not in (403, 404) or isinstance(error, DutiesNotSeparated)
    message = describe(error) if shown else None
    return _error_page(status, message)


def _error_page(status: int, message: str | None = None) -> Any:
    limit_mb = current_app.config["AFTERFLOW_MAX_UPLOAD_BYTES"] // (1024 * 1024)
    return render_template("error.html", status=status, message=message, limit_mb=limit_mb), status
