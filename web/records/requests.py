"""What the archive pages read from a request: the page number, a new customer and whether it may be added."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from processes.records import archive


def page_number() -> int:
    value = request.args.get("page", "")
    return min(int(value), 100_000) if value.isdigit() and int(value) > 0 else 1


def customer_values(form: Any) -> dict[str, str]:
    """The fields of a new customer as submitted, trimmed to the archive's lengths; a ticked class is "on"."""
    limits = {"name": 256, "phone": 64, "address": 512, "contact": 128, "licence_number": 128, "region": 32}
    values = {key: str(form.get(key, "")).strip()[:limit] for key, limit in limits.items()}
    for flag in ("key_customer", "fixed_point_unit"):
        values[flag] = "on" if form.get(flag) == "on" else ""
    return values


def check_new_customer(session: Any, values: dict[str, str]) -> str | None:
    """Why a new customer cannot be added (in the user's language), or None."""
    if not values["name"]:
        return _("Enter the customer's name.")
    if archive.customer_named(session, values["name"]) is not None:
        return _("A customer of this name exists already.")
    return None
