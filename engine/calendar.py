"""Working-time calendar for SLA due times (SPEC §3 "Working-time calendar").

SLAs are counted either in working time ("4 个工作小时", "3 个工作日") or in wall-clock
time ("24 小时内到达现场"). :class:`WorkingCalendar` answers both:

* a working day runs from ``work_start`` to ``work_end`` (default 08:30–17:30) in the
  calendar's timezone (default ``Asia/Shanghai``), optionally minus a lunch break;
* which dates are working days comes from the ``chinese_calendar`` package (public
  holidays and make-up working days, 调休). For years the package has no data for,
  Monday–Friday are working days. Company-specific ``extra_holidays`` and
  ``extra_working_days`` override both.

Working time is measured on the local wall clock of the calendar's timezone. All
results are timezone-aware datetimes in that timezone; inputs must be timezone-aware
(any zone) and are converted first, so the same instant always gives the same answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

__all__ = ["CalendarConfig", "WorkingCalendar"]

_ONE_DAY = timedelta(days=1)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f"})


def _parse_time(key: str, value: object) -> time:
    """Parse ``"08:30"`` / ``"08:30:00"`` (or accept a ``time``) for config key ``key``."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _TIME_RE.match(value.strip())
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            try:
                return time(hour, minute, second)
            except ValueError:
                pass
    raise ValueError(f"calendar config {key!r}: expected a time like '08:30', got {value!r}")


def _parse_optional_time(key: str, value: object) -> time | None:
    """Parse a time, treating ``None`` and the empty string as "not set"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _parse_time(key, value)


def _parse_date(key: str, value: object) -> date:
    """Parse ``"2026-10-01"`` (or accept a ``date``, not a ``datetime``) for config key ``key``."""
    if isinstance(value, datetime):
        raise ValueError(f"calendar config {key!r}: expected a date, got a datetime {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"calendar config {key!r}: expected a date like '2026-10-01', got {value!r}")


def _parse_dates(key: str, value: object) -> frozenset[date]:
    """Parse a list of dates, or a comma/whitespace separated string of dates (env style)."""
    if value is None:
        return frozenset()
    items: Iterable[object]
    if isinstance(value, str):
        items = [part for part in re.split(r"[,\s;]+", value) if part]
    elif isinstance(value, date):
        items = [value]
    elif isinstance(value, Iterable):
        items = value
    else:
        raise ValueError(f"calendar config {key!r}: expected a list of dates, got {value!r}")
    return frozenset(_parse_date(key, item) for item in items)


def _parse_bool(key: str, value: object) -> bool:
    """Parse a boolean from a bool or a word such as ``"true"`` / ``"0"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError(f"calendar config {key!r}: expected true/false, got {value!r}")


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


@dataclass(frozen=True)
class CalendarConfig:
    """Working day definition, timezone and holiday overrides of a :class:`WorkingCalendar`."""

    timezone: str = "Asia/Shanghai"
    work_start: time = time(8, 30)
    work_end: time = time(17, 30)
    lunch_start: time | None = None
    lunch_end: time | None = None
    use_chinese_holidays: bool = True
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Validate the configuration; raise ValueError with a readable message."""
        if not isinstance(self.timezone, str) or not self.timezone:
            raise ValueError(f"calendar config 'timezone': expected a zone name, got {self.timezone!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"calendar config 'timezone': unknown timezone {self.timezone!r}")
        for name in ("work_start", "work_end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"calendar config {name!r}: expected a time, got {value!r}")
            if value.tzinfo is not None:
                raise ValueError(f"calendar config {name!r}: must be a local time without tzinfo")
        if self.work_start >= self.work_end:
            raise ValueError(
                f"calendar config: work_start {self.work_start:%H:%M} must be before "
                f"work_end {self.work_end:%H:%M}"
            )
        if (self.lunch_start is None) != (self.lunch_end is None):
            raise ValueError("calendar config: lunch_start and lunch_end must be set together (or neither)")
        if self.lunch_start is not None and self.lunch_end is not None:
            for name in ("lunch_start", "lunch_end"):
                value = getattr(self, name)
                if not isinstance(value, time) or value.tzinfo is not None:
                    raise ValueError(f"calendar config {name!r}: expected a local time, got {value!r}")
            if not (self.work_start < self.lunch_start < self.lunch_end < self.work_end):
                raise ValueError(
                    f"calendar config: lunch {self.lunch_start:%H:%M}–{self.lunch_end:%H:%M} must lie "
                    f"strictly inside the working day {self.work_start:%H:%M}–{self.work_end:%H:%M}"
                )
        if not isinstance(self.use_chinese_holidays, bool):
            raise ValueError(
                f"calendar config 'use_chinese_holidays': expected a bool, got {self.use_chinese_holidays!r}"
            )
        for name in ("extra_holidays", "extra_working_days"):
            value = getattr(self, name)
            if isinstance(value, str | date) or not isinstance(value, Iterable):
                raise ValueError(f"calendar config {name!r}: expected a set of dates, got {value!r}")
            dates = frozenset(value)
            for item in dates:
                if isinstance(item, datetime) or not isinstance(item, date):
                    raise ValueError(f"calendar config {name!r}: expected dates, got {item!r}")
            object.__setattr__(self, name, dates)
        both = self.extra_holidays & self.extra_working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"calendar config: dates both extra holiday and extra working day: {listed}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CalendarConfig:
        """Build a config from strings/values as found in config files or the environment."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"calendar config: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(sorted(known))}"
            )
        kwargs: dict[str, Any] = {}
        if "timezone" in data:
            tz = data["timezone"]
            if not isinstance(tz, str) or not tz.strip():
                raise ValueError(f"calendar config 'timezone': expected a zone name, got {tz!r}")
            kwargs["timezone"] = tz.strip()
        for key in ("work_start", "work_end"):
            if key in data:
                kwargs[key] = _parse_time(key, data[key])
        for key in ("lunch_start", "lunch_end"):
            if key in data:
                kwargs[key] = _parse_optional_time(key, data[key])
        if "use_chinese_holidays" in data:
            kwargs["use_chinese_holidays"] = _parse_bool("use_chinese_holidays", data["use_chinese_holidays"])
        for key in ("extra_holidays", "extra_working_days"):
            if key in data:
                kwargs[key] = _parse_dates(key, data[key])
        return cls(**kwargs)


class WorkingCalendar:
    """Working-time arithmetic (working hours/days, wall-clock hours) for SLA due times."""

    def __init__(self, config: CalendarConfig | None = None) -> None:
        """Create a calendar from ``config`` (defaults: Asia/Shanghai, 08:30–17:30, no lunch)."""
        self._config = config if config is not None else CalendarConfig()
        self._tz = ZoneInfo(self._config.timezone)
        cfg = self._config
        if cfg.lunch_start is not None and cfg.lunch_end is not None:
            self._segments: tuple[tuple[time, time], ...] = (
                (cfg.work_start, cfg.lunch_start),
                (cfg.lunch_end, cfg.work_end),
            )
        else:
            self._segments = ((cfg.work_start, cfg.work_end),)
        anchor = date(2000, 1, 1)
        self._day_length = sum(
            (
                datetime.combine(anchor, end) - datetime.combine(anchor, begin)
                for begin, end in self._segments
            ),
            timedelta(),
        )
        self._working_day_cache: dict[date, bool] = {}

    @property
    def config(self) -> CalendarConfig:
        """The configuration this calendar was built from."""
        return self._config

    @property
    def timezone(self) -> ZoneInfo:
        """The calendar's timezone; every result is expressed in it."""
        return self._tz

    @property
    def working_hours_per_day(self) -> float:
        """Length of a full working day in hours (lunch excluded)."""
        return self._day_length.total_seconds() / 3600

    # ------------------------------------------------------------------ days

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (config overrides, then Chinese calendar or Mon–Fri)."""
        if isinstance(d, datetime):
            d = d.date()
        cached = self._working_day_cache.get(d)
        if cached is not None:
            return cached
        cfg = self._config
        if d in cfg.extra_holidays:
            result = False
        elif d in cfg.extra_working_days:
            result = True
        elif cfg.use_chinese_holidays:
            try:
                result = bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                # The package only knows the years the State Council has published.
                result = d.weekday() < 5
        else:
            result = d.weekday() < 5
        self._working_day_cache[d] = result
        return result

    def _next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def _local(self, moment: datetime) -> datetime:
        """``moment`` (aware) as a naive wall-clock datetime in the calendar's timezone."""
        return moment.astimezone(self._tz).replace(tzinfo=None)

    def _aware(self, local: datetime) -> datetime:
        """Attach the calendar's timezone to a naive local wall-clock datetime."""
        return local.replace(tzinfo=self._tz)

    def _day_segments(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working periods of day ``d`` as naive local datetimes (empty if not a working day)."""
        if not self.is_working_day(d):
            return []
        return [(datetime.combine(d, begin), datetime.combine(d, end)) for begin, end in self._segments]

    def next_working_instant(self, moment: datetime) -> datetime:
        """The first instant at or after ``moment`` inside working time (a period's end counts)."""
        _check_aware("moment", moment)
        local = self._local(moment)
        day = local.date()
        for begin, end in self._day_segments(day):
            if local <= end:
                return self._aware(max(local, begin))
        day = self._next_working_day(day)
        return self._aware(datetime.combine(day, self._segments[0][0]))

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
            return start.astimezone(self._tz)
        position = self._local(start)
        day = position.date()
        while True:
            segments = self._day_segments(day)
            at_day_start = bool(segments) and position <= segments[0][0]
            if at_day_start and remaining > self._day_length:
                # Fast path: a whole working day is consumed.
                remaining -= self._day_length
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
            position = datetime.combine(day, self._segments[0][0])

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
            return start.astimezone(self._tz)
        anchor = self._local(self.next_working_instant(start))
        day = anchor.date()
        for _ in range(days):
            day = self._next_working_day(day)
        return self._aware(datetime.combine(day, anchor.time()))

    def add_wall_clock_hours(self, start: datetime, hours: float) -> datetime:
        """Add plain elapsed hours (weekends and holidays count), result in the calendar's zone."""
        _check_aware("start", start)
        delta = _check_hours(hours)
        return (start.astimezone(UTC) + delta).astimezone(self._tz)

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
                total += self._day_length
            else:
                for begin, seg_end in segments:
                    overlap = min(seg_end, hi) - max(begin, lo)
                    if overlap > timedelta():
                        total += overlap
            day += _ONE_DAY
        return total.total_seconds() / 3600
