"""The helpers diagrams call, on the working-time calendar and the engine clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine import clock
from engine.calendar import WorkingCalendar
from engine.script_helpers import make_helpers

HELPERS = make_helpers(WorkingCalendar())


def test_working_days_between_skips_weekends_holidays_and_counts_make_up_days() -> None:
    count = HELPERS["working_days_between"]
    assert count("2026-11-20", "2026-11-23") == 1  # Friday → Monday
    assert count(date(2026, 9, 30), date(2026, 10, 9)) == 2  # 1–7 October off; Thursday 8th and Friday 9th
    assert count("2026-10-09", "2026-10-10") == 1  # Saturday 10 October 2026 is a make-up working day
    assert count("2026-11-23", "2026-11-20") == 0


def test_due_in_counts_each_unit_from_the_engine_clock() -> None:
    due_in = HELPERS["due_in"]
    with clock.frozen_at(datetime(2026, 11, 20, 7, 30, tzinfo=UTC)):  # Friday 15:30 in Shanghai
        assert due_in(4, "working_hours").isoformat() == "2026-11-23T10:30:00+08:00"
        assert due_in(1, "working_days").isoformat() == "2026-11-23T15:30:00+08:00"
        assert due_in(24, "hours").isoformat() == "2026-11-21T15:30:00+08:00"
        assert due_in(5, "days").isoformat() == "2026-11-25T15:30:00+08:00"
        with pytest.raises(
            ValueError,
            match="working_hours, working_days, working_day_end, day_of_month, hours, days or months",
        ):
            due_in(1, "fortnights")
        with pytest.raises(ValueError, match="from 0 to"):
            due_in(-1, "hours")
        with pytest.raises(ValueError, match="from 0 to"):
            HELPERS["working_days"](10**7)  # would take minutes on the calendar


def test_due_from_counts_from_an_earlier_moment() -> None:
    """Dispatch and complaint closure count from acceptance (受理), not from when the step opens."""
    due_from = HELPERS["due_from"]
    with clock.frozen_at(datetime(2026, 11, 24, 7, 30, tzinfo=UTC)):  # Tuesday 15:30: not used
        accepted = "2026-11-23T09:00:00+08:00"
        assert due_from(accepted, 2, "working_days").isoformat() == "2026-11-25T09:00:00+08:00"
        assert due_from(accepted, 5, "days").isoformat() == "2026-11-28T09:00:00+08:00"
        with pytest.raises(ValueError, match="datetime or an ISO"):
            due_from(20261123, 1, "days")


def test_working_day_end_is_the_end_of_the_same_or_a_later_working_day() -> None:
    """ "当天" [000 篇二 8), 11)]: 0 working days to the day's end; after hours, the next working day's."""
    due_from = HELPERS["due_from"]
    assert (
        due_from("2026-11-23T14:00:00+08:00", 0, "working_day_end").isoformat() == "2026-11-23T17:30:00+08:00"
    )
    assert (
        due_from("2026-11-20T18:00:00+08:00", 0, "working_day_end").isoformat() == "2026-11-23T17:30:00+08:00"
    )
    assert (
        due_from("2026-09-30T10:00:00+08:00", 1, "working_day_end").isoformat() == "2026-10-08T17:30:00+08:00"
    )


def test_day_of_month_is_the_next_such_day_at_midnight() -> None:
    """ "每月10日前" [001 6]: from the 1st, the 10th; on or after the 10th, next month's."""
    due_from = HELPERS["due_from"]
    assert (
        due_from("2026-12-01T00:00:00+08:00", 10, "day_of_month").isoformat() == "2026-12-10T00:00:00+08:00"
    )
    assert (
        due_from("2026-12-10T00:00:00+08:00", 10, "day_of_month").isoformat() == "2027-01-10T00:00:00+08:00"
    )
    assert due_from("2026-11-23T09:00:00+08:00", 1, "day_of_month").isoformat() == "2026-12-01T00:00:00+08:00"
    with pytest.raises(ValueError, match="from 1 to 28"):
        due_from("2026-11-23T09:00:00+08:00", 31, "day_of_month")


def test_months_is_the_same_day_of_a_later_month() -> None:
    """ "复杂特殊问题不超过1个月" [004 11 3.12]: a month on, the month's last day when it is shorter."""
    due_from = HELPERS["due_from"]
    assert due_from("2026-11-23T09:00:00+08:00", 1, "months").isoformat() == "2026-12-23T09:00:00+08:00"
    assert due_from("2026-12-15T09:00:00+08:00", 1, "months").isoformat() == "2027-01-15T09:00:00+08:00"
    assert due_from("2027-01-31T09:00:00+08:00", 1, "months").isoformat() == "2027-02-28T09:00:00+08:00"
    with pytest.raises(ValueError, match="whole months"):
        due_from("2026-11-23T09:00:00+08:00", 1.5, "months")


def test_days_between_counts_calendar_days() -> None:
    """ "购买后7天内" [002 售后服务管理规程 三章 2]: calendar days, holidays included."""
    days_between = HELPERS["days_between"]
    assert days_between("2026-09-29", "2026-10-08") == 9
    assert days_between(date(2026, 11, 23), "2026-11-20") == -3
