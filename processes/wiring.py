"""Plug afterflow's domain into the generic engine: roles, calendar, service handlers, list fields, tables.

This is the one place the engine learns about our processes. A new process needs no change here
unless it brings a service handler (``processes/handlers``), a role (``processes/roles.py``) or a
case-data key that lists should show.
"""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError

import processes.tables  # noqa: F401  (the domain's tables join the engine's on Base.metadata)
from engine.calendar import CalendarConfig
from engine.calendar.company import CompanyCalendar
from engine.calendar.store import seed_package_days
from engine.outbox.collect import install as install_outbox
from engine.runtime import Engine, EngineConfig
from engine.sandbox import SandboxLimits
from processes.facts.catalogue import fact_keys
from processes.notifications import outbox_config
from processes.plausibility import FORM_CHECKS
from processes.roles import ASSIGNERS, MANAGERS, MIGRATORS, SUPERUSERS, role_for_lane
from processes.services import SERVICES

#: Which keys of our forms fill a case's list columns (first one present wins).
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_name": ("customer_name", "customer"),
    "product": ("product_model", "product_name", "product"),
    "priority": ("urgency", "priority", "severity", "level"),
}


def engine_config(
    calendar: CalendarConfig | None = None, limits: SandboxLimits | None = None
) -> EngineConfig:
    """Return the engine configuration for afterflow's processes.

    The sandbox's limits come from the ``AFTERFLOW_SCRIPT_*`` / ``AFTERFLOW_MAX_*`` settings
    unless given.
    """
    return EngineConfig(
        resolve_role=role_for_lane,
        calendar=CompanyCalendar(calendar),
        services=SERVICES,
        limits=limits or SandboxLimits.from_environ(),
        superuser_roles=SUPERUSERS,
        assigner_roles=ASSIGNERS,
        manager_roles=MANAGERS,
        migrator_roles=MIGRATORS,
        list_fields=LIST_FIELDS,
        fact_keys=fact_keys(),
        form_checks=FORM_CHECKS,
    )


def build_engine(
    db: SqlEngine, calendar: CalendarConfig | None = None, limits: SandboxLimits | None = None
) -> Engine:
    """Return the engine over ``db`` configured for afterflow's processes (the calendar seeded)."""
    engine = Engine(db, engine_config(calendar, limits))
    # Every command's events become notifications in its own transaction.
    install_outbox(engine.writer, outbox_config(engine.config.calendar))
    try:
        with engine.writer.begin() as session:
            seed_package_days(session)
    except IntegrityError:
        pass  # another process starting at the same moment stored the same package years
    return engine
