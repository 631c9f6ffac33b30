"""The working day's shape and timezone: :class:`CalendarConfig` (from settings or the database)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CalendarConfig"]

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


def format_time(value: time | None) -> str:
    """``08:30`` for a time, the empty string for none (how settings are stored and shown)."""
    return value.strftime("%H:%M") if value is not None else ""
