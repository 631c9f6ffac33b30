"""Administrators' pages under ``/admin`` (role ``admin``): the working-time calendar, and more to come."""

from __future__ import annotations

# The views register themselves on the blueprint.
from web.admin import calendar  # noqa: F401
from web.admin.blueprint import ADMIN_ROLE, bp

__all__ = ["ADMIN_ROLE", "bp"]
