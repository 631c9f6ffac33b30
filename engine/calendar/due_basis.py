"""What a working-time due time was counted from, kept so a calendar change can count it again.

The helpers that count working time (``working_hours``, ``working_days``, ``due_in``) note
each result with its start and amount while a command runs; when the command stores a
timer's or a task's due time it looks the time up here and keeps the basis with it.
Wall-clock limits are never noted, so a calendar change leaves them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
WORKING_DAY_END = "working_day_end"
UNITS = (WORKING_HOURS, WORKING_DAYS, WORKING_DAY_END)


@dataclass(frozen=True)
class DueBasis:
    """A due time's origin: ``amount`` working hours, days or day ends counted from ``start``."""

    start: datetime
    amount: float
    unit: str

    def to_json(self) -> dict[str, Any]:
        """The basis as stored in a ``due_basis`` column."""
        return {"start": self.start.isoformat(), "amount": self.amount, "unit": self.unit}

    @classmethod
    def from_json(cls, data: Any) -> DueBasis | None:
        """Read a stored basis; None when there is none or it is not one we wrote."""
        if not isinstance(data, dict) or data.get("unit") not in UNITS:
            return None
        try:
            return cls(datetime.fromisoformat(data["start"]), float(data["amount"]), data["unit"])
        except (KeyError, TypeError, ValueError):
            return None


_noted: ContextVar[dict[datetime, DueBasis] | None] = ContextVar("afterflow_due_bases", default=None)


@contextmanager
def noting_due_times() -> Iterator[dict[datetime, DueBasis]]:
    """Collect the bases of the working-time due times computed inside the block."""
    noted: dict[datetime, DueBasis] = {}
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)


def note(due: datetime, basis: DueBasis) -> None:
    """Remember how ``due`` was counted (outside a command nobody asks, so nothing is kept)."""
    noted = _noted.get()
    if noted is not None:
        noted[due.astimezone(UTC)] = basis


def basis_of(due: datetime | None) -> DueBasis | None:
    """The basis of a due time computed in the current command, if it was counted in working time."""
    noted = _noted.get()
    if noted is None or due is None:
        return None
    return noted.get(due.astimezone(UTC))
