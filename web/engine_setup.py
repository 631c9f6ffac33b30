"""What the app and the commands build from the settings: the engine over the migrated database, the login throttle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.accounts.login_throttle import (
    DatabaseThrottleStore,
    LoginGuard,
    RedisThrottleStore,
    ThrottlePolicy,
    ThrottleStore,
)
from engine.operations.schema_status import EMPTY, require_current, schema_status
from engine.runtime import Engine
from engine.store.database import make_engine
from engine.store.schema import upgrade
from processes.wiring import build_engine
from web.portal.links import tell_customers
from web.settings import Settings, load_settings


def open_engine(settings: Settings | None = None, install: bool = True) -> Engine:
    """Return afterflow's engine over the database the settings name.

    An empty database is given the schema when ``install`` (installing needs no backup); one that is behind raises
    ``SchemaNotCurrent`` and is left to ``afterflow upgrade``, which backs it up first.
    """
    settings = settings or load_settings()
    db = make_engine(settings.database_url)
    if install and schema_status(db).state == EMPTY:
        upgrade(db)
    else:
        require_current(db)
    engine = build_engine(db, settings.calendar)
    tell_customers(engine, settings.secret_key)
    return engine


def build_login_guard(engine: Any, settings: Settings) -> LoginGuard:
    """Build the login throttle: counts in Redis when configured, else in the app's database."""
    store: ThrottleStore = (
        RedisThrottleStore(settings.redis_url) if settings.redis_url else DatabaseThrottleStore(engine.db)
    )
    policy = ThrottlePolicy(
        account_failures=max(1, settings.login_account_failures),
        address_failures=max(1, settings.login_address_failures),
        window=timedelta(minutes=max(1, settings.login_window_minutes)),
        lockout=timedelta(minutes=max(1, settings.login_lockout_minutes)),
    )
    return LoginGuard(store, engine.db, policy)
