"""Customers' status links in notices: under ``AFTERFLOW_BASE_URL`` (the address customers reach), else the
address of the request that moved the case."""

from __future__ import annotations

import os

from flask import has_request_context, url_for

from engine.runtime import Engine
from processes.notifications.customer_triggers import StatusLinks, install


def status_url(token: str) -> str:
    """The URL of the status page a key opens."""
    base = os.environ.get("AFTERFLOW_BASE_URL", "").strip().rstrip("/")
    if base:
        return f"{base}/portal/status/{token}"
    if has_request_context():
        return url_for("portal.status", token=token, _external=True)
    return f"/portal/status/{token}"


def tell_customers(engine: Engine, secret_key: str) -> None:
    """Make the engine's commands tell customers of their cases, with links under ``secret_key``."""
    install(engine.writer, StatusLinks(secret_key, status_url))
