"""The API reference page: Swagger UI from our own static files, reading /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def reference() -> Any:
    """Show the interactive API reference."""
    return render_template("api/docs.html")
