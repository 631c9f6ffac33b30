"""The calendar's tables: special days, years' status and the working-day settings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import UTCDateTime


class CalendarDay(Base):
    """A date that is not an ordinary Monday–Friday day, from the packages or the company."""

    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("day", "source", name="uq_calendar_day_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # package | company
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarYear(Base):
    """A year whose full schedule is known: shipped by the package or confirmed by an administrator."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarSetting(Base):
    """The working day and timezone as data (one row), and a revision every change bumps."""

    __tablename__ = "calendar_setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str | None] = mapped_column(String(64))
    work_start: Mapped[str | None] = mapped_column(String(8))
    work_end: Mapped[str | None] = mapped_column(String(8))
    lunch_start: Mapped[str | None] = mapped_column(String(8))
    lunch_end: Mapped[str | None] = mapped_column(String(8))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
