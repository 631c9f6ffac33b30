"""Read a calendar CSV (``date,kind,name``) into special days: all rows or an error per bad row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.calendar.package_days import KINDS, SpecialDay
from engine.user_messages import Message

MAX_ROWS = 2000


@dataclass(frozen=True)
class RowProblem:
    """One bad row (0: the file as a whole) and what is wrong, as a message code the web words."""

    row: int
    problem: Message

    def __str__(self) -> str:
        return f"row {self.row}: {self.problem}" if self.row else str(self.problem)


def _problem(row: int, code: str, **params: Any) -> RowProblem:
    return RowProblem(row, Message(f"calendar.{code}", params))


class CalendarImportError(ValueError):
    """The file has bad rows; nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def parse_calendar_csv(text: str) -> list[SpecialDay]:
    """Parse ``date,kind,name`` rows (a header row is allowed); raise with every bad row."""
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    problems: list[RowProblem] = []
    days: dict[date, SpecialDay] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("date", "日期"):
            continue
        if len(cells) < 2:
            problems.append(_problem(number, "columns"))
            continue
        raw_day, kind = cells[0], cells[1].lower()
        name = cells[2] if len(cells) > 2 else ""
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(_problem(number, "not_a_date", value=raw_day))
            continue
        if kind not in KINDS:
            problems.append(_problem(number, "bad_kind", kind=cells[1]))
            continue
        if len(name) > 128:
            problems.append(_problem(number, "name_too_long", max=128))
            continue
        if day in days and days[day].kind != kind:
            problems.append(_problem(number, "kind_twice", day=day.isoformat()))
            continue
        days[day] = SpecialDay(day, kind, name)
    if len(days) > MAX_ROWS:
        problems.append(_problem(0, "too_many_days", max=MAX_ROWS))
    if not days and not problems:
        problems.append(_problem(0, "no_dates"))
    if problems:
        raise CalendarImportError(problems)
    return [days[day] for day in sorted(days)]
