"""Which calendar years an operator must have confirmed by now, and which of them are not."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from engine.calendar.store import is_confirmed

#: From this month on, next year's schedule should be entered (the State Council publishes it
#: in November or December).
NEXT_YEAR_DUE_MONTH = 12


def is_year_confirmed(session: Session, year: int) -> bool:
    """Whether ``year``'s holidays and make-up working days are confirmed in the company calendar."""
    return is_confirmed(session, year)


def years_due(today: date) -> list[int]:
    """The years that must be confirmed on ``today``: this one, and from 1 December the next."""
    return [today.year, today.year + 1] if today.month >= NEXT_YEAR_DUE_MONTH else [today.year]


def unconfirmed_years(session: Session, today: date) -> list[int]:
    """Those of the years due on ``today`` that are not confirmed."""
    return [year for year in years_due(today) if not is_year_confirmed(session, year)]
