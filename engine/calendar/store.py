"""Read and change the calendar's tables: special days, years' status, working-day settings.

Every change bumps the revision in ``calendar_setting``; each process compares it with the
revision it loaded at the start of a command and reloads when it moved, so web and worker
processes see a change without a restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ScalarSelect, delete, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar.config import CalendarConfig, format_time
from engine.calendar.package_days import HOLIDAY, KINDS, SpecialDay, package_days, package_years
from engine.calendar.tables import CalendarDay, CalendarSetting, CalendarYear
from engine.calendar.working import SpecialDays

PACKAGE = "package"
COMPANY = "company"
_SETTING_ID = 1


@dataclass(frozen=True)
class StoredDay:
    """A special day as the calendar uses it, with where it comes from."""

    day: date
    kind: str
    name: str
    source: str


def revision(session: Session) -> int:
    """The calendar's revision (0 before anything was stored)."""
    return session.scalar(select(revision_column())) or 0


def revision_column() -> ScalarSelect[int]:
    """The revision as a column another statement can read beside its own (one round trip fewer)."""
    return select(CalendarSetting.revision).where(CalendarSetting.id == _SETTING_ID).scalar_subquery()


def _bump(session: Session, actor: str) -> None:
    """Move the revision on, so every process reloads the calendar before its next command."""
    bumped = session.execute(
        update(CalendarSetting)
        .where(CalendarSetting.id == _SETTING_ID)
        .values(revision=CalendarSetting.revision + 1, changed_by=actor, changed_at=clock.now())
    )
    if not getattr(bumped, "rowcount", 0):
        session.add(CalendarSetting(id=_SETTING_ID, revision=1, changed_by=actor, changed_at=clock.now()))
    session.flush()


def seed_package_days(session: Session) -> int:
    """Store the package's schedule for each year it covers that is not stored yet; return the years added."""
    stored = set(session.scalars(select(CalendarYear.year).where(CalendarYear.source == PACKAGE)))
    missing = [year for year in package_years() if year not in stored]
    if not missing:
        return 0
    now = clock.now()
    company_years = set(session.scalars(select(CalendarYear.year)))
    stamp = {"source": PACKAGE, "changed_by": "package", "changed_at": now}
    days = [
        {"day": special.day, "kind": special.kind, "name": special.name, **stamp}
        for year in missing
        for special in package_days(year)
    ]
    if days:  # one multi-row INSERT per batch, not an object per day
        session.execute(insert(CalendarDay), days)
    years = [{"year": year, "confirmed": True, **stamp} for year in missing if year not in company_years]
    if years:
        session.execute(insert(CalendarYear), years)
    _bump(session, "package")
    return len(missing)


def load_special_days(session: Session) -> SpecialDays:
    """The effective schedule: company entries over package data, and the confirmed years."""
    days: dict[date, bool] = {}
    company: dict[date, bool] = {}
    for day, kind, source in session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.source)):
        (company if source == COMPANY else days)[day] = kind != HOLIDAY
    days.update(company)
    confirmed = frozenset(session.scalars(select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))
    return SpecialDays(days=days, confirmed_years=confirmed)


def confirmed_years(session: Session) -> frozenset[int]:
    """The years whose schedule is confirmed."""
    return frozenset(session.scalars(select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))


def is_confirmed(session: Session, year: int) -> bool:
    """Whether ``year``'s schedule is confirmed."""
    return bool(session.scalar(select(CalendarYear.confirmed).where(CalendarYear.year == year)))


def year_days(session: Session, year: int) -> list[StoredDay]:
    """The special days of ``year`` in date order, a company entry replacing the package's."""
    rows = session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name, CalendarDay.source).where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
        )
    )
    chosen: dict[date, StoredDay] = {}
    for day, kind, name, source in rows:
        if source == COMPANY or day not in chosen:
            chosen[day] = StoredDay(day, kind, name, source)
    return [chosen[day] for day in sorted(chosen)]


def set_days(session: Session, days: Iterable[SpecialDay], actor: str) -> set[date]:
    """Store company entries for these days (replacing earlier ones); return the dates whose kind changed."""
    days = list(days)
    if not days:
        return set()
    before = _effective_kinds(session, [special.day for special in days])
    now = clock.now()
    for special in days:
        if special.kind not in KINDS:
            raise ValueError(f"unknown day kind {special.kind!r}")
        row = session.scalar(
            select(CalendarDay).where(CalendarDay.day == special.day, CalendarDay.source == COMPANY)
        )
        if row is None:
            row = CalendarDay(day=special.day, source=COMPANY)
            session.add(row)
        row.kind, row.name, row.changed_by, row.changed_at = special.kind, special.name[:128], actor, now
    session.flush()
    after = _effective_kinds(session, [special.day for special in days])
    _bump(session, actor)
    return {day for day in after if before.get(day) != after[day]}


def clear_day(session: Session, day: date, actor: str) -> set[date]:
    """Drop the company's entry for ``day`` (package data applies again); return it if its kind changed."""
    before = _effective_kinds(session, [day])
    session.execute(delete(CalendarDay).where(CalendarDay.day == day, CalendarDay.source == COMPANY))
    after = _effective_kinds(session, [day])
    _bump(session, actor)
    return {day} if before != after else set()


def _effective_kinds(session: Session, days: list[date]) -> dict[date, bool]:
    """Whether each date is a working day now (entries first, else Monday–Friday)."""
    found: dict[date, tuple[str, str]] = {}
    for day, kind, source in session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.source).where(CalendarDay.day.in_(days))
    ):
        if source == COMPANY or day not in found:
            found[day] = (kind, source)
    return {day: (found[day][0] != HOLIDAY) if day in found else day.weekday() < 5 for day in days}


def confirm_year(session: Session, year: int, actor: str, confirmed: bool = True) -> None:
    """Mark ``year``'s schedule as confirmed (or withdraw the confirmation)."""
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, source=COMPANY)
        session.add(row)
    row.confirmed, row.changed_by, row.changed_at = confirmed, actor, clock.now()
    if row.source != PACKAGE:
        row.source = COMPANY
    session.flush()
    _bump(session, actor)


def pending_years(session: Session, years: Iterable[int]) -> list[int]:
    """Those of ``years`` that are not confirmed."""
    confirmed = confirmed_years(session)
    return [year for year in years if year not in confirmed]


def load_config(session: Session, fallback: CalendarConfig) -> CalendarConfig:
    """The working day and timezone stored by an administrator, else ``fallback`` (the environment's)."""
    row = session.get(CalendarSetting, _SETTING_ID)
    if row is None or row.timezone is None:
        return fallback
    return CalendarConfig.from_mapping(
        {
            "timezone": row.timezone,
            "work_start": row.work_start or format_time(fallback.work_start),
            "work_end": row.work_end or format_time(fallback.work_end),
            "lunch_start": row.lunch_start or "",
            "lunch_end": row.lunch_end or "",
            "use_chinese_holidays": fallback.use_chinese_holidays,
            "extra_holidays": sorted(fallback.extra_holidays),
            "extra_working_days": sorted(fallback.extra_working_days),
        }
    )


def save_config(session: Session, config: CalendarConfig, actor: str) -> None:
    """Store the working day and timezone (the config was validated when it was made)."""
    _bump(session, actor)
    row = session.get(CalendarSetting, _SETTING_ID)
    assert row is not None
    row.timezone = config.timezone
    row.work_start, row.work_end = format_time(config.work_start), format_time(config.work_end)
    row.lunch_start, row.lunch_end = format_time(config.lunch_start), format_time(config.lunch_end)
    session.flush()
