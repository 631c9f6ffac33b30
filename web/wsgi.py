"""The WSGI entry point for a production server: ``gunicorn web.wsgi:app`` (see docs/operations.md)."""

from __future__ import annotations

from web.app import create_app
from web.ops.logging_setup import configure_logging
from web.settings import load_settings

configure_logging(load_settings().log_format)
app = create_app()
