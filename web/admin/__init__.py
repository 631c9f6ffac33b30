"""Administrators' pages under ``/admin`` (role ``admin``): users and roles, the working-time calendar."""

from __future__ import annotations

# The views register themselves on the blueprint.
from web.admin import calendar, notifications, retention, users  # noqa: F401
from web.admin.blueprint import ADMIN_ROLE, bp

__all__ = ["ADMIN_ROLE", "bp"]
