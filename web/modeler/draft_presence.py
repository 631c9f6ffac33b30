"""The editor's drafts as people see them: who else is editing a process, versions deployed since.

Each process owner keeps their own draft (``engine.definitions.drafts``); these helpers word the
presence notice (“王工 is editing, saved 3 min ago”) and the warning before deploying over a
version someone deployed after the draft was started; and the side panel's list of services with
the parameters their handlers take.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine import clock
from engine.definitions.drafts import Draft, NewerVersion, drafts_of, load_draft, newer_versions, viewers_of
from engine.store.models import ProcessDefinition
from web.auth import engine
from web.i18n import format_when
from web.names_view import person


def presence(process_key: str) -> list[dict[str, Any]]:
    """Who else has a draft of the process, whether their editor is open, and when they saved."""
    now = clock.now()
    shown = []
    for draft in drafts_of(engine().sessions, process_key):
        if draft.author == current_user.username:
            continue
        name, ago = person(draft.author), _ago(now - draft.updated_at, draft)
        editing = draft.is_open(now)
        text = (
            _("%(name)s is editing, saved %(ago)s", name=name, ago=ago)
            if editing
            else _("%(name)s has a draft, saved %(ago)s", name=name, ago=ago)
        )
        shown.append(
            {
                "author": draft.author,
                "name": name,
                "editing": editing,
                "saved_at": draft.updated_at.isoformat(),
                "text": text,
            }
        )
    for viewer in viewers_of(engine().sessions, process_key):
        if viewer.author != current_user.username:
            name = person(viewer.author)
            text = _("%(name)s is viewing or editing (not saved)", name=name)
            shown.append(
                {"author": viewer.author, "name": name, "editing": True, "saved_at": None, "text": text}
            )
    return shown


def _ago(delta: timedelta, draft: Draft) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return _("%(n)s min ago", n=minutes)
    if minutes < 24 * 60:
        return _("%(n)s h ago", n=minutes // 60)
    return format_when(draft.updated_at)


def newer_than_my_draft(process_key: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The versions deployed after the user's draft was started (or after the version being edited)."""
    draft = load_draft(engine().sessions, process_key, current_user.username)
    if draft is not None:
        found = newer_versions(engine().sessions, draft)
    else:
        base = body.get("version")
        if not isinstance(base, int):
            return []
        with engine().sessions() as db:
            found = [
                NewerVersion(row.version, row.deployed_by, row.deployed_at)
                for row in db.scalars(
                    select(ProcessDefinition)
                    .where(ProcessDefinition.process_key == process_key, ProcessDefinition.version > base)
                    .order_by(ProcessDefinition.version)
                )
            ]
    return [
        {
            "version": v.version,
            "deployed_by": person(v.deployed_by),
            "deployed_at": format_when(v.deployed_at),
        }
        for v in found
    ]


def newer_warning(newer: list[dict[str, Any]]) -> str:
    listed = ", ".join(
        _("version %(v)s by %(who)s at %(when)s", v=n["version"], who=n["deployed_by"], when=n["deployed_at"])
        for n in newer
    )
    return _(
        "Deployed since your draft was started: %(listed)s. Deploying now replaces their changes "
        "with your draft's; compare first, or deploy anyway.",
        listed=listed,
    )


def service_parameters(services: Mapping[str, Callable[..., Any]]) -> dict[str, list[str]]:
    """Each service a service task may call, with the names of its handler's parameters."""
    found: dict[str, list[str]] = {}
    for name, handler in sorted(services.items()):
        try:
            params = inspect.signature(handler).parameters.values()
        except (TypeError, ValueError):
            params = []  # type: ignore[assignment]
        found[name] = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return found
