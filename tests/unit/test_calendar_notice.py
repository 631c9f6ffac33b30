"""The notice parser reproduces the official schedules; the CSV reader takes all rows or none."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.calendar.csv_import import CalendarImportError, parse_calendar_csv
from engine.calendar.notice import NoticeError, parse_notice
from engine.calendar.package_days import HOLIDAY, WORKDAY, package_days

NOTICES = Path(__file__).resolve().parent.parent / "fixtures" / "notices"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_published_notice_gives_exactly_the_package_schedule(year: int) -> None:
    notice = parse_notice((NOTICES / f"{year}.txt").read_text(encoding="utf-8"))
    assert notice.year == year
    assert [(d.day, d.kind) for d in notice.days] == [(d.day, d.kind) for d in package_days(year)]


def test_a_suggested_rest_day_in_brackets_is_not_a_holiday() -> None:
    notice = parse_notice((NOTICES / "2024.txt").read_text(encoding="utf-8"))
    assert date(2024, 2, 9) not in {d.day for d in notice.days}  # 除夕（2月9日）: only encouraged


def test_items_name_their_days_and_ranges_cross_months() -> None:
    notice = parse_notice(
        "一、春节：2月6日（周六）至2月14日（周日）放假调休，共9天。2月20日（周六）上班。", year=2027
    )
    assert notice.days[0].name == "春节"
    assert [d.day.day for d in notice.days if d.kind == HOLIDAY] == list(range(6, 15))
    assert [(d.day, d.kind) for d in notice.days if d.kind == WORKDAY] == [(date(2027, 2, 20), WORKDAY)]


def test_a_range_over_new_year_runs_into_the_next_year() -> None:
    notice = parse_notice("一、元旦：12月31日至1月2日放假，共3天。", year=2022)
    assert [d.day for d in notice.days] == [date(2022, 12, 31), date(2023, 1, 1), date(2023, 1, 2)]


@pytest.mark.parametrize(
    "text",
    ["这不是通知", "国务院办公厅关于2027年部分节假日安排的通知\n一、春节：2月30日放假。"],
)
def test_text_that_is_not_a_notice_is_refused(text: str) -> None:
    with pytest.raises(NoticeError):
        parse_notice(text)


def test_the_csv_reader_takes_every_row() -> None:
    days = parse_calendar_csv("date,kind,name\n2027-02-08,holiday,春节\n2027-02-20,workday,春节调休\n")
    assert [(d.day, d.kind, d.name) for d in days] == [
        (date(2027, 2, 8), HOLIDAY, "春节"),
        (date(2027, 2, 20), WORKDAY, "春节调休"),
    ]


def test_the_csv_reader_names_every_bad_row_and_returns_nothing() -> None:
    with pytest.raises(CalendarImportError) as raised:
        parse_calendar_csv("2027-02-08,holiday,春节\n2027-02-31,holiday,x\n2027-03-01,rest,x\n")
    assert [p.row for p in raised.value.problems] == [2, 3]
    assert raised.value.problems[1].message("zh").startswith("第 3 行：")
