"""The helpers diagrams may call in scripts and expressions (``working_hours(4)`` …)."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from engine import clock
from engine.calendar import WorkingCalendar
from engine.calendar.due_basis import UNITS as WORKING_UNITS
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
        return due_from(now(), n, WORKING_HOURS)

    def working_days(n: int) -> datetime:
        """Now plus ``n`` working days on the calendar."""
        return due_from(now(), n, WORKING_DAYS)

    def due_in(n: float, unit: str = "working_hours") -> datetime:
        """Now plus ``n`` units as an SLA table gives them (see ``due_from``)."""
        return due_from(now(), n, unit)

    def due_from(start: datetime | str, n: float, unit: str = "working_hours") -> datetime:
        """``start`` plus ``n`` units: working_hours, working_days, working_day_end, day_of_month, hours, days, months."""
        moment = _as_datetime(start, calendar)
        if unit in WORKING_UNITS:
            # Working-time due times keep their basis, so a calendar change can count them again.
            amount = _number(n, unit)
            due = calendar.count_due(moment, amount, unit)
            note(due, DueBasis(moment, amount, unit))
            return due
        return _calendar_time_due(calendar, moment, n, unit)

    def working_days_between(start: date | str, end: date | str) -> int:
        """Working days after ``start`` up to and including ``end`` on the calendar (0 if end <= start)."""
        first, last = _as_date(start, "working_days_between"), _as_date(end, "working_days_between")
        return _count_working_days(calendar, first, last)

    def days_between(start: date | str, end: date | str) -> int:
        """Calendar days from ``start`` to ``end`` (negative when end is earlier)."""
        return (_as_date(end, "days_between") - _as_date(start, "days_between")).days

    return {
        "days_between": days_between,
        "due_in": due_in,
        "due_from": due_from,
        "working_days_between": working_days_between,
        "now": now,
        "today": today,
        "hours": hours,
        "working_hours": working_hours,
        "working_days": working_days,
    }


def _calendar_time_due(calendar: WorkingCalendar, moment: datetime, n: float, unit: str) -> datetime:
    """``moment`` plus ``n`` units of wall-clock time: day_of_month, hours, days or months."""
    if unit == "day_of_month":
        # "每月10日前": the next day ``n`` of a month after ``start``, at midnight (company time).
        return _next_day_of_month(moment.astimezone(calendar.timezone), int(_number(n, unit)))
    if unit == "hours":
        return calendar.add_wall_clock_hours(moment, _number(n, "hours"))
    if unit == "days":
        return calendar.add_wall_clock_hours(moment, _number(n, "due_in") * 24)
    if unit == "months":
        # "1个月": the same day ``n`` months on (the month's last day when it has no such day).
        return _add_months(moment.astimezone(calendar.timezone), _number(n, unit))
    raise ValueError(
        "due_in() counts working_hours, working_days, working_day_end, day_of_month, hours, days "
        f"or months, not {unit!r}"
    )


def _add_months(moment: datetime, n: float) -> datetime:
    """The same wall-clock time ``n`` whole months later, on the month's last day if it is shorter."""
    if n != int(n) or not 0 <= n <= 120:
        raise ValueError(f"months counts whole months from 0 to 120, not {n!r}")
    index = moment.month - 1 + int(n)
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _count_working_days(calendar: WorkingCalendar, first: date, last: date) -> int:
    """Working days after ``first`` up to and including ``last`` (at most ten years apart)."""
    if (last - first).days > 3660:
        raise ValueError("working_days_between() counts at most ten years")
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def _next_day_of_month(moment: datetime, day: int) -> datetime:
    """Midnight of the first day ``day`` of a month strictly after ``moment`` (same timezone)."""
    if not 1 <= day <= 28:
        raise ValueError(f"day_of_month needs a day from 1 to 28, not {day!r}")
    year, month = moment.year, moment.month
    candidate = datetime(year, month, day, tzinfo=moment.tzinfo)
    if candidate <= moment:
        year, month = year + (month == 12), month % 12 + 1
        candidate = datetime(year, month, day, tzinfo=moment.tzinfo)
    return candidate


def _as_datetime(value: datetime | str, calendar: WorkingCalendar) -> datetime:
    """An aware datetime from a datetime or an ISO string (naive ones on the calendar's wall clock)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise ValueError(f"due_from() needs a datetime or an ISO date-time string, not {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=calendar.timezone)


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
