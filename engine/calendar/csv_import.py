"""Read a calendar CSV (``date,kind,name``) into special days: all rows or an error per bad row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from engine.calendar.package_days import KINDS, SpecialDay

MAX_ROWS = 2000


@dataclass(frozen=True)
class RowProblem:
    """One bad row, said in Chinese and English."""

    row: int
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        """The problem in ``lang`` (``zh`` or ``en``), with its row number."""
        if lang.lower().startswith("en"):
            return f"row {self.row}: {self.en}" if self.row else self.en
        return f"第 {self.row} 行：{self.zh}" if self.row else self.zh


class CalendarImportError(ValueError):
    """The file has bad rows; nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("; ".join(problem.message("en") for problem in problems))
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
            problems.append(RowProblem(number, "需要“日期,类型,名称”三列", "expected date,kind,name"))
            continue
        raw_day, kind = cells[0], cells[1].lower()
        name = cells[2] if len(cells) > 2 else ""
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(
                RowProblem(
                    number,
                    f"“{raw_day}”不是日期（如 2027-02-08）",
                    f"'{raw_day}' is not a date (such as 2027-02-08)",
                )
            )
            continue
        if kind not in KINDS:
            problems.append(
                RowProblem(
                    number,
                    f"类型“{cells[1]}”应为 holiday（放假）或 workday（上班）",
                    f"kind '{cells[1]}' must be holiday or workday",
                )
            )
            continue
        if len(name) > 128:
            problems.append(
                RowProblem(number, "名称超过 128 个字符", "the name is longer than 128 characters")
            )
            continue
        if day in days and days[day].kind != kind:
            problems.append(
                RowProblem(
                    number,
                    f"{day.isoformat()} 已在前面的行中列为另一类型",
                    f"{day.isoformat()} is listed earlier with the other kind",
                )
            )
            continue
        days[day] = SpecialDay(day, kind, name)
    if len(days) > MAX_ROWS:
        problems.append(RowProblem(0, f"一次最多导入 {MAX_ROWS} 天", f"at most {MAX_ROWS} days at a time"))
    if not days and not problems:
        problems.append(RowProblem(0, "文件中没有任何日期", "the file lists no dates"))
    if problems:
        raise CalendarImportError(problems)
    return [days[day] for day in sorted(days)]
