"""Build the engine with afterflow's roles, calendar and service handlers."""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError

from engine.calendar import CalendarConfig
from engine.calendar.company import CompanyCalendar
from engine.calendar.store import seed_package_days
from engine.runtime import Engine, EngineConfig
from engine.sandbox import SandboxLimits
from processes.roles import role_for_lane
from processes.services import SERVICES


def build_engine(
    db: SqlEngine, calendar: CalendarConfig | None = None, limits: SandboxLimits | None = None
) -> Engine:
    """Return the engine over ``db`` configured for afterflow's processes (the calendar seeded).

    The sandbox's limits come from the ``AFTERFLOW_SCRIPT_*`` / ``AFTERFLOW_MAX_*`` settings
    unless given.
    """
    engine = Engine(
        db,
        EngineConfig(
            resolve_role=role_for_lane,
            calendar=CompanyCalendar(calendar),
            services=SERVICES,
            limits=limits or SandboxLimits.from_environ(),
        ),
    )
    try:
        with engine.writer.begin() as session:
            seed_package_days(session)
    except IntegrityError:
        pass  # another process starting at the same moment stored the same package years
    return engine
