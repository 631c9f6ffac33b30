"""The helpers diagrams may call in scripts and expressions (``working_hours(4)`` …)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from engine import clock
from engine.calendar import WorkingCalendar
from engine.calendar.due_basis import WORKING_DAYS, WORKING_HOURS, DueBasis, note


def make_helpers(calendar: WorkingCalendar) -> dict[str, Callable[..., Any]]:
    """Return the helper functions bound to a working-time calendar and the engine clock."""

    def now() -> datetime:
        """Current time in the company timezone."""
        return clock.now().astimezone(calendar.timezone)

    def today() -> date:
        """Current date in the company timezone."""
        return now().date()

    def hours(n: float) -> datetime:
        """Now plus ``n`` wall-clock hours."""
        return calendar.add_wall_clock_hours(now(), _number(n, "hours"))

    def working_hours(n: float) -> datetime:
        """Now plus ``n`` working hours on the calendar."""
        start, amount = now(), _number(n, "working_hours")
        due = calendar.add_working_hours(start, amount)
        note(due, DueBasis(start, amount, WORKING_HOURS))
        return due

    def working_days(n: int) -> datetime:
        """Now plus ``n`` working days on the calendar."""
        start, amount = now(), int(_number(n, "working_days"))
        due = calendar.add_working_days(start, amount)
        note(due, DueBasis(start, amount, WORKING_DAYS))
        return due

    def due_in(n: float, unit: str = "working_hours") -> datetime:
        """Now plus ``n`` units as an SLA table gives them: working_hours, working_days, hours or days."""
        if unit == "working_hours":
            return working_hours(n)
        if unit == "working_days":
            return working_days(int(n))
        if unit == "hours":
            return hours(n)
        if unit == "days":
            return hours(_number(n, "due_in") * 24)
        raise ValueError(f"due_in() counts working_hours, working_days, hours or days, not {unit!r}")

    def working_days_between(start: date | str, end: date | str) -> int:
        """Working days after ``start`` up to and including ``end`` on the calendar (0 if end <= start)."""
        first, last = _as_date(start, "working_days_between"), _as_date(end, "working_days_between")
        if (last - first).days > 3660:
            raise ValueError("working_days_between() counts at most ten years")
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += calendar.is_working_day(day)
        return count

    return {
        "due_in": due_in,
        "working_days_between": working_days_between,
        "now": now,
        "today": today,
        "hours": hours,
        "working_hours": working_hours,
        "working_days": working_days,
    }


def _as_date(value: date | str, helper: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise ValueError(f"{helper}() needs dates or ISO date strings, not {value!r}")


# Ten years of hours: larger limits are typing mistakes, and computing them would outlast
# the script time limit (the calendar is not traced by the sandbox).
MAX_HOURS = 10 * 366 * 24


def _number(value: Any, helper: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{helper}() needs a number, not {value!r}")
    if not 0 <= value <= MAX_HOURS:
        raise ValueError(f"{helper}() needs a number from 0 to {MAX_HOURS}, not {value!r}")
    return float(value)
