"""Read the State Council's 放假调休 notice into special days, to be reviewed before saving.

The notice (国务院办公厅关于YYYY年部分节假日安排的通知) lists one holiday per item:

    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
    2月14日（周六）、2月28日（周六）上班。

Within an item, a clause naming 上班 gives make-up working days; a clause naming 放假 or
连休 gives holidays, ``A至B`` meaning every day from A to B. Text in brackets (weekdays,
lunar dates, "除夕（2月9日）" mentioned as a suggestion) is not part of the schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from engine.calendar.package_days import HOLIDAY, WORKDAY, SpecialDay

_BRACKETS = re.compile(r"[（(][^（）()]*[）)]")
_YEAR = re.compile(r"(\d{4})\s*年\s*(?:部分)?节假日")
_ITEM = re.compile(r"(?:^|\n|。)\s*[一二三四五六七八九十]+\s*[、.．]\s*([^：:\n]+?)\s*[：:]")
_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(?:(\d{1,2})\s*月\s*)?(\d{1,2})\s*日")
_RANGE_WORD = "至"
_WORK_WORDS = ("上班",)
_REST_WORDS = ("放假", "连休")


@dataclass(frozen=True)
class NoticeProblem:
    """Why (part of) a notice could not be read, in Chinese and English."""

    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        """The problem in ``lang`` (``zh`` or ``en``)."""
        return self.en if lang.lower().startswith("en") else self.zh


class NoticeError(ValueError):
    """The text is not a notice this parser can read; ``problems`` says where."""

    def __init__(self, problems: list[NoticeProblem]) -> None:
        super().__init__("; ".join(problem.en for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class ParsedNotice:
    """The year a notice is about and the special days it lists, by date."""

    year: int
    days: list[SpecialDay]


def parse_notice(text: str, year: int | None = None) -> ParsedNotice:
    """Turn a notice's text into its year's holidays and make-up working days (all or an error)."""
    text = text.replace("\r", "").replace("\u3000", " ")
    if year is None:
        found = _YEAR.search(text)
        if found is None:
            raise NoticeError(
                [
                    NoticeProblem(
                        "通知中没有年份（如“2027年部分节假日安排”），请指定年份",
                        "the notice names no year (such as “2027年部分节假日安排”); give the year",
                    )
                ]
            )
        year = int(found[1])
    items = list(_ITEM.finditer(text))
    if not items:
        raise NoticeError(
            [
                NoticeProblem(
                    "没有找到任何节日条目（如“一、元旦：1月1日放假”）",
                    "no holiday item found (such as “一、元旦：1月1日放假”)",
                )
            ]
        )
    days: dict[date, SpecialDay] = {}
    problems: list[NoticeProblem] = []
    for index, item in enumerate(items):
        name = item[1].strip()
        end = items[index + 1].start() if index + 1 < len(items) else len(text)
        body = _BRACKETS.sub("", text[item.end() : end])
        for special in _item_days(name, body, year, problems):
            earlier = days.get(special.day)
            if earlier is not None and earlier.kind != special.kind:
                problems.append(
                    NoticeProblem(
                        f"{special.day.isoformat()} 既被列为放假又被列为上班",
                        f"{special.day.isoformat()} is both a holiday and a working day",
                    )
                )
            days[special.day] = special
    if problems:
        raise NoticeError(problems)
    if not days:
        raise NoticeError([NoticeProblem("通知中没有任何日期", "the notice lists no dates")])
    return ParsedNotice(year, [days[day] for day in sorted(days)])


def _item_days(name: str, body: str, year: int, problems: list[NoticeProblem]) -> list[SpecialDay]:
    """The days one item lists: clause by clause, months carried from the date before."""
    found: list[SpecialDay] = []
    for sentence in re.split(r"[。；;\n]", body):
        month: int | None = None
        for clause in re.split(r"[，,]", sentence):
            if any(word in clause for word in _WORK_WORDS):
                kind = WORKDAY
            elif any(word in clause for word in _REST_WORDS):
                kind = HOLIDAY
            else:
                continue
            dates: list[tuple[date, int]] = []  # (date, position in the clause)
            clause_year = year
            for match in _DATE.finditer(clause):
                if match[1]:
                    clause_year = int(match[1])
                if match[2]:
                    month = int(match[2])
                if month is None:
                    problems.append(
                        NoticeProblem(f"{name}：“{match[0]}”缺少月份", f"{name}: “{match[0]}” has no month")
                    )
                    continue
                try:
                    dates.append((date(clause_year, month, int(match[3])), match.start()))
                except ValueError:
                    problems.append(
                        NoticeProblem(
                            f"{name}：“{match[0]}”不是有效日期", f"{name}: “{match[0]}” is not a date"
                        )
                    )
            found += _expand(name, kind, clause, dates, problems)
    return found


def _expand(
    name: str, kind: str, clause: str, dates: list[tuple[date, int]], problems: list[NoticeProblem]
) -> list[SpecialDay]:
    """Single dates as they are; ``A至B`` as every day from A to B."""
    result: list[SpecialDay] = []
    index = 0
    while index < len(dates):
        first, position = dates[index]
        following = dates[index + 1] if index + 1 < len(dates) else None
        if following is not None and _RANGE_WORD in clause[position : following[1]]:
            last = following[0]
            if last < first:  # "12月31日至1月2日": the range runs into the next year
                last = last.replace(year=last.year + 1)
            if (last - first).days > 31:
                problems.append(
                    NoticeProblem(
                        f"{name}：{first.isoformat()} 至 {last.isoformat()} 超过一个月",
                        f"{name}: {first.isoformat()} to {last.isoformat()} is longer than a month",
                    )
                )
                last = first
            day = first
            while day <= last:
                result.append(SpecialDay(day, kind, name))
                day += timedelta(days=1)
            index += 2
        else:
            result.append(SpecialDay(first, kind, name))
            index += 1
    return result
