"""The API's one error shape: a stable code, a message in the caller's language, field errors."""

from __future__ import annotations

from typing import Any, NoReturn

import marshmallow as ma
from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from engine.errors import (
    EngineError,
    FormInvalid,
    NotFound,
)
from web.errors import describe, status_of
from web.messages import translate_errors

LANGUAGES = ("zh", "en")

#: The code an HTTP status answers with when nothing more precise is known.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


class ApiErrorSchema(ma.Schema):
    """An error answer."""

    code = ma.fields.String(required=True, metadata={"description": "A stable, machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(metadata={"description": "Messages per field or argument"})


def api_language() -> str:
    """Choose the language of API answers from Accept-Language (Chinese by default)."""
    if "lang" not in g:
        g.lang = request.accept_languages.best_match(LANGUAGES) or "zh"
    return str(g.lang)


def refuse(status: int, **details: Any) -> NoReturn:
    """Stop the request with an error answer (flask-smorest's abort, typed as never returning)."""
    abort(status, **details)
    raise AssertionError("unreachable")  # abort always raises


def error_response(status: int, code: str, message: str, errors: Any = None) -> Response:
    """Build an error answer in the API's shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _message(status: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("A valid access token is required (Authorization: Bearer …)."),
        403: _("Your roles do not allow this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("The request conflicts with the current state."),
        413: _("The request is too large."),
        415: _("Send the request body as JSON."),
        422: _("The request has invalid values; see errors."),
        429: _("Too many requests; try again later."),
    }
    return messages.get(status, _("The request could not be carried out."))


def api_error(error: HTTPException) -> Response:
    """Answer an HTTP error raised under /api/ (abort, argument validation, unknown routes)."""
    api_language()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    code = data.get("code") or STATUS_CODES.get(status, "error")
    message = data.get("message") or _message(status)
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "headers", "files"}:
        # webargs groups messages by location; a single location is unwrapped.
        errors = next(iter(errors.values())) if len(errors) == 1 else errors
    response = error_response(status, code, str(message), errors)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="afterflow"'
    return response


def engine_error(error: EngineError) -> Response:
    """Answer a command the engine refused, with the same words the pages use."""
    api_language()
    status = status_of(error)
    if isinstance(error, FormInvalid):
        errors = translate_errors(error.errors, api_language())
        return error_response(422, error.code, _("The form has errors; check the marked fields."), errors)
    if isinstance(error, NotFound):
        return error_response(404, error.code, _("Not found."))
    if type(error) is EngineError:
        # A rule of the engine (a missing reason, a user without the role): its own words.
        return error_response(status, error.code, str(error.message))
    return error_response(status, error.code, describe(error))
