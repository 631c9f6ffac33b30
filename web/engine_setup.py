"""Open the configured database, bring it to the current schema, and build the engine over it."""

from __future__ import annotations

from engine.db import make_engine
from engine.runtime import Engine
from engine.schema import upgrade
from processes.wiring import build_engine
from web.settings import Settings, load_settings


def open_engine(settings: Settings | None = None) -> Engine:
    """Return afterflow's engine over the database the settings name, migrated to the newest schema."""
    settings = settings or load_settings()
    db = make_engine(settings.database_url)
    upgrade(db)
    return build_engine(db, settings.calendar)
