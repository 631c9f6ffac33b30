"""What the health endpoints and ``afterflow doctor`` ask the database: one small query each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.models import Job, ProcessInstance
from engine.operations.calendar_years import unconfirmed_years
from engine.operations.nodes import RUNNER, live_nodes
from engine.operations.schema_status import CURRENT, schema_status

#: A job this late means no runner is firing timers (they normally fire within a second).
OVERDUE_AFTER = timedelta(minutes=1)

OK = "ok"
DOWN = "down"
UNKNOWN = "unknown"
ALIVE = "alive"
NONE = "none"
CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"


@dataclass
class Readiness:
    """The answer of ``/readyz``: one status word per check."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return self.checks == {
            "database": OK,
            "migrations": CURRENT,
            "runner": ALIVE,
            "calendar": CONFIRMED,
        }


def readiness(db: Engine, today: Callable[[], date]) -> Readiness:
    """Check the database, its schema, a live runner and the calendar years due by ``today``."""
    result = Readiness({"database": DOWN, "migrations": UNKNOWN, "runner": UNKNOWN, "calendar": UNKNOWN})
    try:
        with db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"; the log has the details
        return result
    result.checks["database"] = OK
    try:
        status = schema_status(db)
        result.checks["migrations"] = status.state
        if not status.is_current:
            return result
        with Session(db) as session:
            result.checks["runner"] = ALIVE if live_nodes(session, RUNNER) else NONE
            result.checks["calendar"] = UNCONFIRMED if unconfirmed_years(session, today()) else CONFIRMED
    except Exception:  # the database went away between two checks
        result.checks["database"] = DOWN
    return result


def overdue_jobs(session: Session) -> int:
    """Open jobs due more than ``OVERDUE_AFTER`` ago."""
    limit = clock.now() - OVERDUE_AFTER
    return int(
        session.scalar(select(func.count(Job.id)).where(Job.done_at.is_(None), Job.due_at < limit)) or 0
    )


def due_jobs(session: Session) -> int:
    """Open jobs whose time has come."""
    return int(
        session.scalar(select(func.count(Job.id)).where(Job.done_at.is_(None), Job.due_at <= clock.now()))
        or 0
    )


def cases_in_error(session: Session) -> int:
    """Cases stopped in error, waiting for someone to retry them."""
    return int(
        session.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.status == "error")) or 0
    )
