"""Hand-checked cases for engine.calendar (working hours/days, holidays, wall-clock limits).

Holiday data relied on (chinese_calendar 1.11): 2025-10-01..08 are holidays (National Day +
Mid-autumn), Sunday 2025-09-28 and Saturday 2025-10-11 are make-up working days; November
2025 has no holidays. Expected values below are computed by hand with the default working
day 08:30–17:30 (9 h, no lunch) unless a test says otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import CalendarConfig, SpecialDays, WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An aware datetime in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


def assert_same(actual: datetime, expected: datetime) -> None:
    """Same instant, and expressed in the calendar's timezone."""
    assert actual == expected
    assert actual.utcoffset() == timedelta(hours=8)
    assert isinstance(actual.tzinfo, ZoneInfo)
    assert actual.tzinfo.key == "Asia/Shanghai"
    assert actual.replace(tzinfo=None) == expected.astimezone(SH).replace(tzinfo=None)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def lunch_cal() -> WorkingCalendar:
    return WorkingCalendar(CalendarConfig(lunch_start=time(12, 0), lunch_end=time(13, 0)))


# --------------------------------------------------------------------------- holiday data


def test_package_holiday_data_2025_national_day(cal: WorkingCalendar) -> None:
    for day in range(1, 9):
        assert not cal.is_working_day(date(2025, 10, day)), f"2025-10-{day:02d} should be a holiday"
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday, make-up working day
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday, make-up working day
    assert cal.is_working_day(date(2025, 10, 9))  # Thursday after the break
    assert not cal.is_working_day(date(2025, 10, 12))  # ordinary Sunday


def test_package_holiday_data_2026(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(date(2026, 1, 2))  # Friday, New Year
    assert cal.is_working_day(date(2026, 1, 4))  # Sunday, make-up
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday, Spring Festival
    assert cal.is_working_day(date(2026, 2, 28))  # Saturday, make-up
    assert not cal.is_working_day(date(2026, 10, 7))  # Wednesday, National Day
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday, make-up


def test_datetime_argument_to_is_working_day_uses_its_date(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(datetime(2025, 10, 11, 23, 0)) is True
    assert cal.is_working_day(datetime(2025, 10, 12, 1, 0)) is False


# --------------------------------------------------------------------------- working hours


def test_friday_afternoon_plus_four_hours_is_monday_late_morning(cal: WorkingCalendar) -> None:
    # Fri 2025-11-14 16:30 → 1 h to 17:30; Mon 2025-11-17 08:30 + 3 h = 11:30.
    assert_same(cal.add_working_hours(sh(2025, 11, 14, 16, 30), 4), sh(2025, 11, 17, 11, 30))


def test_request_during_public_holiday_counts_from_first_working_day_after(cal: WorkingCalendar) -> None:
    # Fri 2025-10-03 is inside the 10-01..10-08 break; first working day is Thu 10-09.
    assert_same(cal.add_working_hours(sh(2025, 10, 3, 10, 0), 4), sh(2025, 10, 9, 12, 30))


def test_holiday_in_the_middle_of_the_count_is_skipped(cal: WorkingCalendar) -> None:
    # Tue 2025-09-30 16:00 → 1.5 h that day; 10-01..10-08 off; Thu 10-09 08:30 + 0.5 h.
    assert_same(cal.add_working_hours(sh(2025, 9, 30, 16, 0), 2), sh(2025, 10, 9, 9, 0))


def test_make_up_saturday_counts_as_working_day(cal: WorkingCalendar) -> None:
    # Fri 2025-10-10 16:30 → 1 h; Sat 2025-10-11 is a make-up working day: 08:30 + 3 h.
    assert_same(cal.add_working_hours(sh(2025, 10, 10, 16, 30), 4), sh(2025, 10, 11, 11, 30))


def test_make_up_sunday_counts_as_working_day(cal: WorkingCalendar) -> None:
    # Sat 2025-09-27 is off; Sun 2025-09-28 is a make-up working day: 08:30 + 2 h.
    assert_same(cal.add_working_hours(sh(2025, 9, 27, 10, 0), 2), sh(2025, 9, 28, 10, 30))


def test_lunch_break_excluded_when_configured(lunch_cal: WorkingCalendar) -> None:
    # Mon 2025-11-17 11:00 → 1 h until 12:00, lunch, 13:00 + 1 h = 14:00.
    assert_same(lunch_cal.add_working_hours(sh(2025, 11, 17, 11, 0), 2), sh(2025, 11, 17, 14, 0))


def test_lunch_not_excluded_by_default(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 11, 0), 2), sh(2025, 11, 17, 13, 0))


def test_start_during_lunch_counts_from_lunch_end(lunch_cal: WorkingCalendar) -> None:
    assert_same(lunch_cal.add_working_hours(sh(2025, 11, 17, 12, 30), 1), sh(2025, 11, 17, 14, 0))


def test_full_day_with_lunch_is_eight_hours(lunch_cal: WorkingCalendar) -> None:
    assert lunch_cal.working_hours_per_day == 8.0
    assert_same(lunch_cal.add_working_hours(sh(2025, 11, 17, 8, 30), 8), sh(2025, 11, 17, 17, 30))
    # Friday 17:00 + 1 h: 0.5 h Friday, Monday 08:30 + 0.5 h.
    assert_same(lunch_cal.add_working_hours(sh(2025, 11, 14, 17, 0), 1), sh(2025, 11, 17, 9, 0))


def test_limit_ending_at_lunch_start_stays_there(lunch_cal: WorkingCalendar) -> None:
    assert_same(lunch_cal.add_working_hours(sh(2025, 11, 17, 11, 0), 1), sh(2025, 11, 17, 12, 0))


def test_start_before_working_day_counts_from_day_start(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 7, 0), 1), sh(2025, 11, 17, 9, 30))
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 0, 0), 9), sh(2025, 11, 17, 17, 30))


def test_start_after_working_day_counts_from_next_morning(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 18, 0), 1), sh(2025, 11, 18, 9, 30))
    # Friday evening → Monday.
    assert_same(cal.add_working_hours(sh(2025, 11, 14, 22, 15), 1), sh(2025, 11, 17, 9, 30))


def test_start_exactly_at_day_end_counts_from_next_morning(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 17, 30), 0.5), sh(2025, 11, 18, 9, 0))


def test_limit_ending_exactly_at_day_end_stays_at_day_end(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 8, 30), 9), sh(2025, 11, 17, 17, 30))
    assert_same(cal.add_working_hours(sh(2025, 11, 14, 13, 30), 4), sh(2025, 11, 14, 17, 30))
    # Two full days from a day start end at the second day's end, not the third morning.
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 8, 30), 18), sh(2025, 11, 18, 17, 30))


def test_fractional_hours(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 9, 0), 1.25), sh(2025, 11, 17, 10, 15))
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 9, 0), 0.1), sh(2025, 11, 17, 9, 6))
    # 17:00 + 2.5 h → 0.5 h today, 2 h tomorrow → 10:30.
    assert_same(cal.add_working_hours(sh(2025, 11, 17, 17, 0), 2.5), sh(2025, 11, 18, 10, 30))


def test_zero_hours_returns_start_unchanged(cal: WorkingCalendar) -> None:
    # Even on a Saturday night: no working time is added, nothing moves.
    assert_same(cal.add_working_hours(sh(2025, 11, 15, 22, 0), 0), sh(2025, 11, 15, 22, 0))


def test_negative_hours_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_hours(sh(2025, 11, 17, 9, 0), -1)


def test_non_finite_hours_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="finite"):
        cal.add_working_hours(sh(2025, 11, 17, 9, 0), float("nan"))
    with pytest.raises(ValueError, match="finite"):
        cal.add_working_hours(sh(2025, 11, 17, 9, 0), float("inf"))


def test_naive_start_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_hours(datetime(2025, 11, 17, 9, 0), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2025, 11, 17, 9, 0), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_wall_clock_hours(datetime(2025, 11, 17, 9, 0), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_hours_between(datetime(2025, 11, 17, 9, 0), sh(2025, 11, 17, 10, 0))


def test_utc_input_gives_shanghai_output_for_the_same_instant(cal: WorkingCalendar) -> None:
    # 2025-11-14 08:30 UTC is Friday 16:30 in Shanghai → Monday 11:30 Shanghai = 03:30 UTC.
    result = cal.add_working_hours(datetime(2025, 11, 14, 8, 30, tzinfo=UTC), 4)
    assert_same(result, sh(2025, 11, 17, 11, 30))
    assert result.astimezone(UTC) == datetime(2025, 11, 17, 3, 30, tzinfo=UTC)


def test_utc_evening_is_already_next_morning_in_shanghai(cal: WorkingCalendar) -> None:
    # Sunday 2025-11-16 23:00 UTC = Monday 07:00 Shanghai (before start) → 08:30 + 1 h.
    result = cal.add_working_hours(datetime(2025, 11, 16, 23, 0, tzinfo=UTC), 1)
    assert_same(result, sh(2025, 11, 17, 9, 30))


def test_an_unconfirmed_year_is_counted_monday_to_friday_and_marked_provisional(cal: WorkingCalendar) -> None:
    # The package has no schedule for 2040: its days count Monday–Friday, never silently.
    assert not cal.is_confirmed_year(2040)
    assert cal.is_working_day(date(2040, 1, 2))  # Monday
    assert not cal.is_working_day(date(2040, 1, 7))  # Saturday
    due = cal.add_working_hours(sh(2040, 1, 6, 16, 30), 4)
    assert_same(due, sh(2040, 1, 9, 11, 30))
    assert cal.is_provisional(sh(2040, 1, 6, 16, 30), due)


def test_a_due_time_counted_into_an_unconfirmed_year_is_provisional(cal: WorkingCalendar) -> None:
    assert cal.is_confirmed_year(2026) and not cal.is_confirmed_year(2027)
    start = sh(2026, 12, 31, 16, 0)
    assert not cal.is_provisional(start, sh(2026, 12, 31, 17, 0))
    assert cal.is_provisional(start, cal.add_working_hours(start, 4))


def test_a_schedule_given_as_data_confirms_its_years() -> None:
    special = SpecialDays(days={date(2027, 2, 8): False}, confirmed_years=frozenset({2027}))
    cal = WorkingCalendar(CalendarConfig(), special)
    assert not cal.is_working_day(date(2027, 2, 8))
    due = cal.add_working_hours(sh(2027, 2, 5, 16, 0), 4)
    assert_same(due, sh(2027, 2, 9, 11, 0))
    assert not cal.is_provisional(sh(2027, 2, 5, 16, 0), due)


def test_thousand_working_hours(cal: WorkingCalendar) -> None:
    plain = WorkingCalendar(CalendarConfig(use_chinese_holidays=False))
    # 1000 h = 111 full 9-hour days (999 h) + 1 h. Working day #1 is Mon 2025-11-17, #111 is
    # 22 weeks later (Mon 2026-04-20) ending 17:30; the last hour is Tue 2026-04-21 08:30–09:30.
    assert_same(plain.add_working_hours(sh(2025, 11, 17, 8, 30), 1000), sh(2026, 4, 21, 9, 30))
    # With real holidays the result is later, and exactly 1000 working hours away.
    start = sh(2025, 11, 17, 8, 30)
    result = cal.add_working_hours(start, 1000)
    assert result > sh(2026, 4, 21, 9, 30)
    assert cal.working_hours_between(start, result) == pytest.approx(1000.0)


# --------------------------------------------------------------------------- overrides


def test_extra_holiday_overrides_package(cal: WorkingCalendar) -> None:
    company = WorkingCalendar(CalendarConfig(extra_holidays=frozenset({date(2025, 11, 17)})))
    assert cal.is_working_day(date(2025, 11, 17))
    assert not company.is_working_day(date(2025, 11, 17))
    # Fri 16:30 + 4 h skips Monday the 17th → Tue 2025-11-18 11:30.
    assert_same(company.add_working_hours(sh(2025, 11, 14, 16, 30), 4), sh(2025, 11, 18, 11, 30))


def test_extra_working_day_overrides_weekend_and_holiday() -> None:
    company = WorkingCalendar(
        CalendarConfig(extra_working_days=frozenset({date(2025, 11, 15), date(2025, 10, 8)}))
    )
    assert company.is_working_day(date(2025, 11, 15))  # Saturday
    assert company.is_working_day(date(2025, 10, 8))  # National Day holiday
    assert_same(company.add_working_hours(sh(2025, 11, 14, 16, 30), 4), sh(2025, 11, 15, 11, 30))
    assert_same(company.add_working_days(sh(2025, 9, 30, 10, 0), 1), sh(2025, 10, 8, 10, 0))


def test_chinese_holidays_can_be_switched_off() -> None:
    plain = WorkingCalendar(CalendarConfig(use_chinese_holidays=False))
    assert plain.is_working_day(date(2025, 10, 1))  # Wednesday
    assert not plain.is_working_day(date(2025, 10, 11))  # Saturday


# --------------------------------------------------------------------------- working days


def test_add_working_days_across_weekend(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_days(sh(2025, 11, 14, 10, 0), 1), sh(2025, 11, 17, 10, 0))
    assert_same(cal.add_working_days(sh(2025, 11, 14, 10, 0), 3), sh(2025, 11, 19, 10, 0))


def test_add_working_days_across_holiday(cal: WorkingCalendar) -> None:
    # After Tue 2025-09-30: 10-01..10-08 off, then Thu 10-09, Fri 10-10, make-up Sat 10-11.
    assert_same(cal.add_working_days(sh(2025, 9, 30, 10, 0), 1), sh(2025, 10, 9, 10, 0))
    assert_same(cal.add_working_days(sh(2025, 9, 30, 10, 0), 3), sh(2025, 10, 11, 10, 0))
    # Fri 2025-09-26 + 1 is the make-up Sunday 09-28.
    assert_same(cal.add_working_days(sh(2025, 9, 26, 15, 45), 1), sh(2025, 9, 28, 15, 45))


def test_add_working_days_clamps_outside_hours_to_next_working_instant(cal: WorkingCalendar) -> None:
    # After end on Friday → next working instant Mon 08:30 → +1 = Tue 08:30.
    assert_same(cal.add_working_days(sh(2025, 11, 14, 19, 0), 1), sh(2025, 11, 18, 8, 30))
    # Before start → that day's 08:30 → +1 = next day 08:30.
    assert_same(cal.add_working_days(sh(2025, 11, 17, 7, 0), 1), sh(2025, 11, 18, 8, 30))
    # Exactly at day end is kept.
    assert_same(cal.add_working_days(sh(2025, 11, 14, 17, 30), 1), sh(2025, 11, 17, 17, 30))
    # During a holiday → first working day after (Thu 10-09 08:30) → +2 = make-up Sat 10-11.
    assert_same(cal.add_working_days(sh(2025, 10, 3, 10, 0), 2), sh(2025, 10, 11, 8, 30))


def test_add_working_days_during_lunch_clamps_to_lunch_end(lunch_cal: WorkingCalendar) -> None:
    assert_same(lunch_cal.add_working_days(sh(2025, 11, 17, 12, 15), 1), sh(2025, 11, 18, 13, 0))


def test_add_working_days_zero_and_invalid(cal: WorkingCalendar) -> None:
    assert_same(cal.add_working_days(sh(2025, 11, 15, 22, 0), 0), sh(2025, 11, 15, 22, 0))
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(sh(2025, 11, 17, 9, 0), -1)
    with pytest.raises(TypeError):
        cal.add_working_days(sh(2025, 11, 17, 9, 0), 1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- wall clock


def test_wall_clock_hours_ignore_weekend_and_holidays(cal: WorkingCalendar) -> None:
    assert_same(cal.add_wall_clock_hours(sh(2025, 11, 14, 16, 30), 24), sh(2025, 11, 15, 16, 30))
    assert_same(cal.add_wall_clock_hours(sh(2025, 11, 14, 16, 30), 72), sh(2025, 11, 17, 16, 30))
    assert_same(cal.add_wall_clock_hours(sh(2025, 9, 30, 20, 0), 48), sh(2025, 10, 2, 20, 0))


def test_wall_clock_hours_convert_to_calendar_zone(cal: WorkingCalendar) -> None:
    result = cal.add_wall_clock_hours(datetime(2025, 11, 14, 20, 0, tzinfo=UTC), 1.5)
    assert_same(result, sh(2025, 11, 15, 5, 30))


def test_wall_clock_negative_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_wall_clock_hours(sh(2025, 11, 14, 16, 30), -2)


# --------------------------------------------------------------------------- between


def test_working_hours_between(cal: WorkingCalendar) -> None:
    assert cal.working_hours_between(sh(2025, 11, 14, 16, 30), sh(2025, 11, 17, 11, 30)) == 4.0
    assert cal.working_hours_between(sh(2025, 11, 17, 11, 30), sh(2025, 11, 14, 16, 30)) == -4.0
    assert cal.working_hours_between(sh(2025, 11, 17, 9, 0), sh(2025, 11, 17, 9, 0)) == 0.0
    # Weekend only.
    assert cal.working_hours_between(sh(2025, 11, 15, 10, 0), sh(2025, 11, 16, 10, 0)) == 0.0
    # 0.5 h on 09-30 + 0.5 h on 10-09, holiday week in between.
    assert cal.working_hours_between(sh(2025, 9, 30, 17, 0), sh(2025, 10, 9, 9, 0)) == 1.0
    # Mon 00:00 → Wed 00:00 = two full days.
    assert cal.working_hours_between(sh(2025, 11, 17), sh(2025, 11, 19)) == 18.0


def test_working_hours_between_excludes_lunch(lunch_cal: WorkingCalendar) -> None:
    assert lunch_cal.working_hours_between(sh(2025, 11, 17, 8, 0), sh(2025, 11, 17, 18, 0)) == 8.0
    assert lunch_cal.working_hours_between(sh(2025, 11, 17, 11, 30), sh(2025, 11, 17, 13, 30)) == 1.0


def test_working_hours_between_mixed_zones(cal: WorkingCalendar) -> None:
    # 01:30 UTC = 09:30 Shanghai; 17:00 Shanghai same day → 7.5 h.
    assert (
        cal.working_hours_between(datetime(2025, 11, 17, 1, 30, tzinfo=UTC), sh(2025, 11, 17, 17, 0)) == 7.5
    )


# --------------------------------------------------------------------------- config


def test_defaults(cal: WorkingCalendar) -> None:
    cfg = CalendarConfig()
    assert cfg.timezone == "Asia/Shanghai"
    assert (cfg.work_start, cfg.work_end) == (time(8, 30), time(17, 30))
    assert cfg.lunch_start is None and cfg.lunch_end is None
    assert cfg.use_chinese_holidays is True
    assert cal.timezone == ZoneInfo("Asia/Shanghai")
    assert cal.working_hours_per_day == 9.0


def test_from_mapping_parses_strings() -> None:
    cfg = CalendarConfig.from_mapping(
        {
            "timezone": "Asia/Urumqi",
            "work_start": "09:00",
            "work_end": "18:00:00",
            "lunch_start": "12:00",
            "lunch_end": "13:30",
            "use_chinese_holidays": "false",
            "extra_holidays": "2026-10-01, 2026-10-02",
            "extra_working_days": ["2026-10-10"],
        }
    )
    assert cfg == CalendarConfig(
        timezone="Asia/Urumqi",
        work_start=time(9, 0),
        work_end=time(18, 0),
        lunch_start=time(12, 0),
        lunch_end=time(13, 30),
        use_chinese_holidays=False,
        extra_holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
        extra_working_days=frozenset({date(2026, 10, 10)}),
    )
    assert WorkingCalendar(cfg).working_hours_per_day == 7.5


def test_from_mapping_empty_lunch_means_none() -> None:
    cfg = CalendarConfig.from_mapping({"lunch_start": "", "lunch_end": None})
    assert cfg.lunch_start is None and cfg.lunch_end is None


def test_constructor_accepts_plain_sets() -> None:
    cfg = CalendarConfig(extra_holidays={date(2025, 11, 17)})  # type: ignore[arg-type]
    assert cfg.extra_holidays == frozenset({date(2025, 11, 17)})
    assert isinstance(cfg.extra_holidays, frozenset)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"work_start": "8h30"}, "work_start"),
        ({"work_end": "25:00"}, "work_end"),
        ({"work_start": "18:00", "work_end": "08:30"}, "must be before"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"timezone": ""}, "timezone"),
        ({"lunch_start": "12:00"}, "together"),
        ({"lunch_start": "07:00", "lunch_end": "08:00"}, "inside the working day"),
        ({"lunch_start": "13:00", "lunch_end": "12:00"}, "inside the working day"),
        ({"extra_holidays": "2026-13-01"}, "extra_holidays"),
        ({"extra_working_days": ["not-a-date"]}, "extra_working_days"),
        ({"extra_holidays": ["2026-10-01"], "extra_working_days": "2026-10-01"}, "both"),
        ({"use_chinese_holidays": "maybe"}, "use_chinese_holidays"),
        ({"work_starts": "08:30"}, "unknown key"),
    ],
)
def test_bad_config_raises_value_error(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CalendarConfig.from_mapping(mapping)


def test_bad_config_in_constructor_raises_value_error() -> None:
    with pytest.raises(ValueError, match="must be before"):
        CalendarConfig(work_start=time(17, 30), work_end=time(17, 30))
    with pytest.raises(ValueError, match="unknown timezone"):
        CalendarConfig(timezone="Not/AZone")
