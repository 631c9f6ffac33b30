"""The official 放假调休 schedules the ``chinesecalendar`` package ships, as special days.

The package covers every year from 2004 to the newest schedule the State Council had
published when it was released; those years are *confirmed*. ``holidays`` is not used:
its China data has no make-up working days and only estimates for unpublished years,
and an estimate must never pass for the official schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

from chinese_calendar.constants import holidays, workdays

if TYPE_CHECKING:
    from engine.calendar.working import SpecialDays

HOLIDAY = "holiday"
WORKDAY = "workday"
KINDS = (HOLIDAY, WORKDAY)

# The package names days in English; the calendar speaks the notice's words.
_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass(frozen=True)
class SpecialDay:
    """One date that is not an ordinary Monday–Friday day: a holiday or a make-up working day."""

    day: date
    kind: str
    name: str


def _name(holiday: object) -> str:
    english = str(holiday)
    return _NAMES.get(english, english)


@cache
def package_years() -> tuple[int, ...]:
    """The years whose full schedule the package knows (from 2004 to its newest year)."""
    newest = max(day.year for day in holidays)
    oldest = min(day.year for day in holidays)
    return tuple(range(oldest, newest + 1))


def package_days(year: int) -> list[SpecialDay]:
    """The package's holidays and make-up working days of ``year``, by date."""
    found = [SpecialDay(day, HOLIDAY, _name(name)) for day, name in holidays.items() if day.year == year]
    found += [SpecialDay(day, WORKDAY, _name(name)) for day, name in workdays.items() if day.year == year]
    return sorted(found, key=lambda special: special.day)


@cache
def package_schedule() -> SpecialDays:
    """The package's schedule for every year it covers, all of them confirmed."""
    from engine.calendar.working import SpecialDays

    days = {day: False for day in holidays}
    days.update({day: True for day in workdays})
    return SpecialDays(days=days, confirmed_years=frozenset(package_years()))
