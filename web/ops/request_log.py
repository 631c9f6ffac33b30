"""One log line per request: method, endpoint, path, status, duration, user and the case it touched.

Never the query string, the form or a header: those may hold passwords, tokens or case data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from engine.operations import command_log
from engine.operations.command_log import CommandRecord

log = logging.getLogger("afterflow.request")


def init_app(app: Flask) -> None:
    """Time every request and log it when its response is ready."""
    app.before_request(_start_clock)
    app.after_request(_log_request)
    command_log.add_listener(_remember_case)


def _start_clock() -> None:
    g.ops_started = time.perf_counter()


def _remember_case(record: CommandRecord) -> None:
    # Commands run in the request's own thread: the case a command worked on is this request's.
    if has_request_context() and record.case:
        g.ops_case = record.case


def request_seconds() -> float:
    """Seconds since this request began."""
    started = g.get("ops_started")
    return time.perf_counter() - started if started is not None else 0.0


def _log_request(response: Any) -> Any:
    duration = request_seconds()
    user = current_user.username if getattr(current_user, "is_authenticated", False) else None
    fields = {
        "method": request.method,
        "endpoint": request.endpoint or "unmatched",
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(duration * 1000, 1),
        "user": user,
        "case": g.get("ops_case"),
    }
    log.info(
        "%s %s %s %.1f ms user=%s case=%s",
        fields["method"],
        fields["path"],
        fields["status"],
        fields["duration_ms"],
        user or "-",
        fields["case"] or "-",
        extra=fields,
    )
    return response
