"""The WSGI entry point for a production server: ``gunicorn web.wsgi:app`` (see docs/operations.md)."""

from __future__ import annotations

from web.app import create_app

app = create_app()
