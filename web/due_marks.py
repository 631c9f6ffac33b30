"""The 「暂定」 mark of due times counted in working time over a year whose schedule is unconfirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, g

from engine.calendar import DueBasis, store


def _confirmed_years() -> frozenset[int]:
    """The confirmed years, read once per request."""
    if "confirmed_years" not in g:
        with current_app.extensions["afterflow"].sessions() as session:
            g.confirmed_years = store.confirmed_years(session)
    years: frozenset[int] = g.confirmed_years
    return years


def provisional_year(due_at: datetime | None, basis: Any) -> int | None:
    """The unconfirmed year a working-time due time was counted across, else None."""
    parsed = DueBasis.from_json(basis)
    if due_at is None or parsed is None:
        return None
    tz = current_app.extensions["afterflow"].config.calendar.timezone
    first, last = sorted((parsed.start.astimezone(tz).year, due_at.astimezone(tz).year))
    confirmed = _confirmed_years()
    return next((year for year in range(first, last + 1) if year not in confirmed), None)


def case_provisional_year(instance: Any) -> int | None:
    """The unconfirmed year behind a case's due time (its earliest open task's), else None."""
    from sqlalchemy import select

    from engine.store.models import OPEN_TASK, Task

    if instance.due_at is None:
        return None
    with current_app.extensions["afterflow"].sessions() as session:
        bases = session.scalars(
            select(Task.due_basis).where(
                Task.instance_id == instance.id, OPEN_TASK, Task.due_at == instance.due_at
            )
        ).all()
    return next((year for basis in bases if (year := provisional_year(instance.due_at, basis))), None)
