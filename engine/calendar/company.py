"""The company's calendar: a :class:`WorkingCalendar` loaded from the database, reloaded on change."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from engine.calendar import store
from engine.calendar.config import CalendarConfig
from engine.calendar.package_days import package_schedule
from engine.calendar.working import WorkingCalendar


class CompanyCalendar(WorkingCalendar):
    """Working-time arithmetic over the calendar tables; ``refresh`` picks up other processes' changes."""

    def __init__(self, fallback: CalendarConfig | None = None) -> None:
        """Start from the packages' schedule and ``fallback`` settings until the tables are read."""
        self._fallback = fallback if fallback is not None else CalendarConfig()
        super().__init__(self._fallback, package_schedule())
        self._revision: int | None = None
        self._lock = threading.Lock()

    @property
    def fallback(self) -> CalendarConfig:
        """The settings used while an administrator has stored none (from the environment)."""
        return self._fallback

    def refresh(self, session: Session, current: int | None = None) -> None:
        """Reload the tables when their revision moved since the last load (one small query otherwise).

        ``current`` is the revision when the caller read it already (``store.revision_column``).
        """
        if current is None:
            current = store.revision(session)
        if current == self._revision:
            return
        with self._lock:
            if current == self._revision:
                return
            config = store.load_config(session, self._fallback)
            special = store.load_special_days(session)
            self._replace(config, special)
            self._revision = current
