"""The working-time calendar: working day, timezone, holidays and make-up days as company data."""

from engine.calendar.config import CalendarConfig
from engine.calendar.due_basis import DueBasis
from engine.calendar.working import SpecialDays, WorkingCalendar

__all__ = ["CalendarConfig", "DueBasis", "SpecialDays", "WorkingCalendar"]
