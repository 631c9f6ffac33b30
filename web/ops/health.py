"""``/healthz`` (the process answers) and ``/readyz`` (it can serve): JSON, no login, status words only."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify

from engine import clock
from engine.operations.health import readiness
from engine.runtime import Engine

bp = Blueprint("ops_health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """Answer that the process is up (a load balancer's liveness probe)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """Answer whether this instance can serve: database, schema, a live runner, the calendar."""
    engine: Engine = current_app.extensions["afterflow"]
    result = readiness(engine.db, lambda: _company_today(engine))
    body = {"status": "ready" if result.ready else "not ready", "checks": result.checks}
    return jsonify(body), 200 if result.ready else 503


def _company_today(engine: Engine) -> date:
    # The calendar year turns at the company's midnight, not UTC's.
    return clock.now().astimezone(engine.config.calendar.timezone).date()
