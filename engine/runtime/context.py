"""What a running command exposes to service-task handlers: its session, case and actor.

Handlers (record look-ups, starting linked cases) run inside the command's
transaction, so what they read is consistent with it and what they write commits or rolls
back with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.calendar import CalendarConfig


@dataclass
class CommandContext:
    """The command being carried out."""

    session: Session
    instance_id: int | None
    business_number: str | None
    actor: str
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo(CalendarConfig().timezone))
    #: The rules each business rule task chose during the command, by its element id.
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)


def current_or_none() -> CommandContext | None:
    """Return the command in progress, if any."""
    return _current.get()


_current: ContextVar[CommandContext | None] = ContextVar("afterflow_command", default=None)


def current() -> CommandContext:
    """Return the command in progress (service handlers only run inside one)."""
    context = _current.get()
    if context is None:
        raise RuntimeError("no afterflow command is in progress")
    return context


@contextmanager
def running(context: CommandContext) -> Iterator[CommandContext]:
    """Make ``context`` the current command for the duration of a block."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
