"""The archives' blueprint (customers, products, the sales ledger) and who may open what.

Which roles read and edit the archives is the domain's (``processes/roles.py``); this module
only gates the pages on it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from flask_login import current_user

from processes.records.archive import RATING_KEYS
from processes.roles import ARCHIVE_EDITORS, ARCHIVE_READERS, LEDGER_IMPORTERS, LEDGER_READERS
from web.extensions import login_manager
from web.i18n import current_lang
from web.names_view import labels

bp = Blueprint("records", __name__)


def _roles() -> frozenset[str]:
    return frozenset(getattr(current_user, "roles", ()) or ())


def may_read_archive() -> bool:
    return bool(_roles() & ARCHIVE_READERS)


def may_edit_archive() -> bool:
    return bool(_roles() & ARCHIVE_EDITORS)


def may_read_ledger() -> bool:
    return bool(_roles() & LEDGER_READERS)


def may_import_ledger() -> bool:
    return bool(_roles() & LEDGER_IMPORTERS)


def require(allowed: bool) -> None:
    """Send a visitor to the log-in page, and a user without the role away with 403."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    if not allowed:
        abort(403)


@bp.app_context_processor
def archive_helpers() -> dict[str, Any]:
    """Let the navigation ask which archive pages the user may open."""

    def signed_in() -> bool:
        return bool(getattr(current_user, "is_authenticated", False))

    return {
        "may_read_archive": lambda: signed_in() and may_read_archive(),
        "may_read_ledger": lambda: signed_in() and may_read_ledger(),
        "field_label": lambda key: labels().field_label(key, current_lang()),
        "option_label": lambda key, value: labels().option(key, value, current_lang()) if value else "",
        "rating_keys": RATING_KEYS,
    }
