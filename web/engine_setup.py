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
