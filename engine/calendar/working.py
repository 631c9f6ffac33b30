"""Working-time arithmetic for SLA due times (SPEC §3 "Working-time calendar").

SLAs are counted either in working time ("4 个工作小时", "3 个工作日") or in wall-clock
time ("24 小时内到达现场"). :class:`WorkingCalendar` answers both:

* a working day runs from ``work_start`` to ``work_end`` (default 08:30–17:30) in the
  calendar's timezone (default ``Asia/Shanghai``), optionally minus a lunch break;
* which dates are working days comes from a :class:`SpecialDays` schedule (public holidays
  and make-up working days, 调休) — the packages' data by default, the company's table
  when the calendar is loaded from the database. A year the schedule does not confirm is
  counted Monday–Friday, and every result counted in such a year is *provisional*
  (:meth:`WorkingCalendar.is_provisional`): never silently assumed ordinary.
  ``extra_holidays`` and ``extra_working_days`` of the config override the schedule.

Working time is measured on the local wall clock of the calendar's timezone. All
results are timezone-aware datetimes in that timezone; inputs must be timezone-aware
(any zone) and are converted first, so the same instant always gives the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.calendar.config import CalendarConfig
from engine.calendar.package_days import package_schedule

__all__ = ["SpecialDays", "WorkingCalendar"]


@dataclass(frozen=True)
class SpecialDays:
    """Which dates differ from Monday–Friday (True: a working day) and which years are confirmed."""

    days: dict[date, bool] = field(default_factory=dict)
    confirmed_years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Shape:
    """Everything one calculation reads, swapped as a whole when the calendar changes."""

    config: CalendarConfig
    tz: ZoneInfo
    segments: tuple[tuple[time, time], ...]
    day_length: timedelta
    special: SpecialDays
    cache: dict[date, bool]


def _make_shape(config: CalendarConfig, special: SpecialDays) -> _Shape:
    if config.lunch_start is not None and config.lunch_end is not None:
        segments: tuple[tuple[time, time], ...] = (
            (config.work_start, config.lunch_start),
            (config.lunch_end, config.work_end),
        )
    else:
        segments = ((config.work_start, config.work_end),)
    anchor = date(2000, 1, 1)
    length = sum(
        (datetime.combine(anchor, end) - datetime.combine(anchor, begin) for begin, end in segments),
        timedelta(),
    )
    return _Shape(config, ZoneInfo(config.timezone), segments, length, special, {})


_ONE_DAY = timedelta(days=1)


def _check_hours(hours: float) -> timedelta:
    """Validate a non-negative finite number of hours and turn it into a timedelta."""
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError(f"hours must be a number, got {hours!r}")
    if not math.isfinite(hours):
        raise ValueError(f"hours must be finite, got {hours!r}")
    if hours < 0:
        raise ValueError(f"hours must not be negative, got {hours!r}")
    return timedelta(hours=hours)


def _check_aware(name: str, moment: datetime) -> None:
    """Refuse naive datetimes: an SLA instant without a timezone is ambiguous."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")


class WorkingCalendar:
    """Working-time arithmetic (working hours/days, wall-clock hours) for SLA due times."""

    def __init__(self, config: CalendarConfig | None = None, special: SpecialDays | None = None) -> None:
        """Create a calendar from ``config`` and a schedule (default: the packages' schedule)."""
        config = config if config is not None else CalendarConfig()
        if special is None:
            special = package_schedule() if config.use_chinese_holidays else SpecialDays()
        self._shape = _make_shape(config, special)

    def _replace(self, config: CalendarConfig, special: SpecialDays) -> None:
        """Swap configuration and schedule at once (threads read one consistent shape)."""
        self._shape = _make_shape(config, special)

    @property
    def config(self) -> CalendarConfig:
        """The configuration this calendar was built from."""
        return self._shape.config

    @property
    def special_days(self) -> SpecialDays:
        """The schedule of holidays and make-up working days in use."""
        return self._shape.special

    @property
    def timezone(self) -> ZoneInfo:
        """The calendar's timezone; every result is expressed in it."""
        return self._shape.tz

    @property
    def working_hours_per_day(self) -> float:
        """Length of a full working day in hours (lunch excluded)."""
        return self._shape.day_length.total_seconds() / 3600

    # ------------------------------------------------------------------ days

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (config overrides, then the schedule, then Mon–Fri)."""
        if isinstance(d, datetime):
            d = d.date()
        shape = self._shape
        cached = shape.cache.get(d)
        if cached is not None:
            return cached
        cfg = shape.config
        if d in cfg.extra_holidays:
            result = False
        elif d in cfg.extra_working_days:
            result = True
        else:
            special = shape.special.days.get(d)
            result = special if special is not None else d.weekday() < 5
        shape.cache[d] = result
        return result

    def is_confirmed_year(self, year: int) -> bool:
        """Whether the year's schedule is known (else its days are counted Monday–Friday)."""
        return year in self._shape.special.confirmed_years

    def is_provisional(self, start: datetime, due: datetime) -> bool:
        """Whether a due time counted from ``start`` falls in, or crosses, an unconfirmed year."""
        tz = self._shape.tz
        first, last = sorted((start.astimezone(tz).year, due.astimezone(tz).year))
        return any(not self.is_confirmed_year(year) for year in range(first, last + 1))

    def _next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def _local(self, moment: datetime) -> datetime:
        """``moment`` (aware) as a naive wall-clock datetime in the calendar's timezone."""
        return moment.astimezone(self._shape.tz).replace(tzinfo=None)

    def _aware(self, local: datetime) -> datetime:
        """Attach the calendar's timezone to a naive local wall-clock datetime."""
        return local.replace(tzinfo=self._shape.tz)

    def _day_segments(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working periods of day ``d`` as naive local datetimes (empty if not a working day)."""
        if not self.is_working_day(d):
            return []
        return [(datetime.combine(d, begin), datetime.combine(d, end)) for begin, end in self._shape.segments]

    def next_working_instant(self, moment: datetime) -> datetime:
        """The first instant at or after ``moment`` inside working time (a period's end counts)."""
        _check_aware("moment", moment)
        local = self._local(moment)
        day = local.date()
        for begin, end in self._day_segments(day):
            if local <= end:
                return self._aware(max(local, begin))
        day = self._next_working_day(day)
        return self._aware(datetime.combine(day, self._shape.segments[0][0]))

    # ------------------------------------------------------------ arithmetic

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Add ``hours`` of working time to ``start``; 0 returns ``start`` (in the calendar's zone).

        Only time inside working periods counts: a start before the working day counts from
        the day's start, after its end (or on a non-working day) from the next working day's
        start, inside lunch from lunch end. A limit that is used up exactly at the end of a
        period stays there (17:30 stays 17:30 rather than becoming next morning 08:30).
        Runs day by day, so large amounts are cheap.
        """
        _check_aware("start", start)
        remaining = _check_hours(hours)
        if not remaining:
            return start.astimezone(self._shape.tz)
        position = self._local(start)
        day = position.date()
        while True:
            segments = self._day_segments(day)
            at_day_start = bool(segments) and position <= segments[0][0]
            if at_day_start and remaining > self._shape.day_length:
                # Fast path: a whole working day is consumed.
                remaining -= self._shape.day_length
            else:
                for begin, end in segments:
                    if position >= end:
                        continue
                    position = max(position, begin)
                    available = end - position
                    if remaining <= available:
                        return self._aware(position + remaining)
                    remaining -= available
                    position = end
            day = self._next_working_day(day)
            position = datetime.combine(day, self._shape.segments[0][0])

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same time of day on the ``days``-th working day after ``start``; 0 returns ``start``.

        Clamping rule: ``start`` is first moved to the next working instant (see
        :meth:`next_working_instant`): before the working day → that day's start; during lunch
        → lunch end; after the working day's end or on a non-working day → the next working
        day's start. A start exactly at the end of the day (17:30) is kept. The result is that
        (clamped) time of day on the ``days``-th following working day, so e.g. Friday 10:00
        + 1 → Monday 10:00, and Friday 19:00 + 1 → (Monday 08:30 +1 day) Tuesday 08:30.
        """
        _check_aware("start", start)
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {days!r}")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days!r}")
        if days == 0:
            return start.astimezone(self._shape.tz)
        anchor = self._local(self.next_working_instant(start))
        day = anchor.date()
        for _ in range(days):
            day = self._next_working_day(day)
        return self._aware(datetime.combine(day, anchor.time()))

    def add_wall_clock_hours(self, start: datetime, hours: float) -> datetime:
        """Add plain elapsed hours (weekends and holidays count), result in the calendar's zone."""
        _check_aware("start", start)
        delta = _check_hours(hours)
        return (start.astimezone(UTC) + delta).astimezone(self._shape.tz)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end``; negative if ``end`` is before ``start``."""
        _check_aware("start", start)
        _check_aware("end", end)
        if end < start:
            return -self.working_hours_between(end, start)
        lo, hi = self._local(start), self._local(end)
        total = timedelta()
        day = lo.date()
        last = hi.date()
        while day <= last:
            segments = self._day_segments(day)
            if segments and lo <= segments[0][0] and segments[-1][1] <= hi:
                total += self._shape.day_length
            else:
                for begin, seg_end in segments:
                    overlap = min(seg_end, hi) - max(begin, lo)
                    if overlap > timedelta():
                        total += overlap
            day += _ONE_DAY
        return total.total_seconds() / 3600

    def count_due(self, start: datetime, amount: float, unit: str) -> datetime:
        """The due time ``amount`` working hours or days after ``start`` (as the diagrams' helpers count)."""
        if unit == "working_hours":
            return self.add_working_hours(start, amount)
        if unit == "working_days":
            return self.add_working_days(start, int(amount))
        if unit == "working_day_end":
            # "当天" / "n 个工作日内": the end of the working day ``amount`` working days later
            # (0: the day the clock starts, or the next working day when it starts after hours).
            day = self.add_working_days(self.next_working_instant(start), int(amount))
            return datetime.combine(day.date(), self.config.work_end, tzinfo=self.timezone)
        raise ValueError(
            f"a due time is counted in working_hours, working_days or working_day_end, not {unit!r}"
        )
