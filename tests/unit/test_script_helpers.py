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
        with pytest.raises(ValueError, match="working_hours, working_days, hours or days"):
            due_in(1, "fortnights")
        with pytest.raises(ValueError, match="from 0 to"):
            due_in(-1, "hours")
        with pytest.raises(ValueError, match="from 0 to"):
            HELPERS["working_days"](10**7)  # would take minutes on the calendar
