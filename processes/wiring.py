"""Build the engine with afterflow's roles, calendar and service handlers."""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine

from engine.calendar import CalendarConfig, WorkingCalendar
from engine.runtime import Engine, EngineConfig
from engine.sandbox import SandboxLimits
from processes.roles import role_for_lane
from processes.services import SERVICES


def build_engine(
    db: SqlEngine, calendar: CalendarConfig | None = None, limits: SandboxLimits | None = None
) -> Engine:
    """Return the engine over ``db`` configured for afterflow's processes.

    The sandbox's limits come from the ``AFTERFLOW_SCRIPT_*`` / ``AFTERFLOW_MAX_*`` settings
    unless given.
    """
    return Engine(
        db,
        EngineConfig(
            resolve_role=role_for_lane,
            calendar=WorkingCalendar(calendar),
            services=SERVICES,
            limits=limits or SandboxLimits.from_environ(),
        ),
    )
