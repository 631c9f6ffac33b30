"""Both throttle stores count failures and lock out the same way: the database and a real Redis.

The Redis tests start ``redis-server`` on a free port (Debian's package); the lock-out's end is
checked with the engine clock for the database and with Redis' own expiry for Redis.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from engine import clock
from engine.accounts.login_throttle import (
    ACCOUNT,
    ADDRESS,
    LOCKED_EVENT,
    UNLOCKED_EVENT,
    DatabaseThrottleStore,
    LoginGuard,
    RedisThrottleStore,
    ThrottlePolicy,
    ThrottleStore,
)
from engine.models import Event

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(account_failures=3, address_failures=5, window=timedelta(minutes=10))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, db: SqlEngine) -> ThrottleStore:
    if request.param == "database":
        return DatabaseThrottleStore(db)
    redis_store = RedisThrottleStore(
        request.getfixturevalue("redis_url"), prefix=f"test:{time.monotonic_ns()}"
    )
    return redis_store


def test_the_limit_th_failure_locks_and_clear_unlocks(store: ThrottleStore) -> None:
    clock.freeze(NOW)
    assert store.record_failure(ACCOUNT, "cs1", NOW, POLICY) is None
    assert store.record_failure(ACCOUNT, "cs1", NOW, POLICY) is None
    until = store.record_failure(ACCOUNT, "cs1", NOW, POLICY)
    assert until == NOW + POLICY.lockout
    assert store.locked_until(ACCOUNT, "cs1", NOW) == until
    assert store.locked_until(ACCOUNT, "cs2", NOW) is None
    assert store.locked_until(ADDRESS, "cs1", NOW) is None  # scopes are apart
    assert store.clear(ACCOUNT, "cs1") is True
    assert store.locked_until(ACCOUNT, "cs1", NOW) is None
    assert store.clear(ACCOUNT, "cs1") is False


def test_an_address_has_its_own_higher_limit(store: ThrottleStore) -> None:
    results = [store.record_failure(ADDRESS, "203.0.113.5", NOW, POLICY) for _ in range(5)]
    assert results[:4] == [None] * 4 and results[4] is not None


def test_two_stores_over_one_backend_share_the_count(db: SqlEngine, redis_url: str) -> None:
    for first, second in (
        (DatabaseThrottleStore(db), DatabaseThrottleStore(db)),
        (RedisThrottleStore(redis_url, prefix="shared"), RedisThrottleStore(redis_url, prefix="shared")),
    ):
        first.record_failure(ACCOUNT, "cs1", NOW, POLICY)
        second.record_failure(ACCOUNT, "cs1", NOW, POLICY)
        assert first.record_failure(ACCOUNT, "cs1", NOW, POLICY) is not None
        assert second.locked_until(ACCOUNT, "cs1", NOW) is not None


def test_the_database_lockout_ends_with_the_clock(db: SqlEngine) -> None:
    store = DatabaseThrottleStore(db)
    for _ in range(3):
        until = store.record_failure(ACCOUNT, "cs1", NOW, POLICY)
    assert until is not None
    assert store.locked_until(ACCOUNT, "cs1", until - timedelta(seconds=1)) == until
    assert store.locked_until(ACCOUNT, "cs1", until) is None
    # A failure after the lock-out starts a new count.
    assert store.record_failure(ACCOUNT, "cs1", until + timedelta(seconds=1), POLICY) is None


def test_the_redis_lockout_expires_by_itself(redis_url: str) -> None:
    store = RedisThrottleStore(redis_url, prefix="expiry")
    short = ThrottlePolicy(account_failures=1, lockout=timedelta(seconds=1))
    now = datetime.now(UTC)
    assert store.record_failure(ACCOUNT, "cs1", now, short) is not None
    assert store.locked_until(ACCOUNT, "cs1", now) is not None
    time.sleep(1.2)
    assert store.locked_until(ACCOUNT, "cs1", now) is None  # the key is gone, whatever the clock says


def test_the_guard_audits_lockouts_and_unlocks(db: SqlEngine, store: ThrottleStore) -> None:
    clock.freeze(NOW)
    guard = LoginGuard(store, db, POLICY)
    assert guard.lockout("CS1", "198.51.100.1") is None
    assert guard.failed("cs1", "198.51.100.1") is None
    assert guard.failed("Cs1 ", "198.51.100.2") is None
    started = guard.failed("cs1", "198.51.100.3")
    assert started is not None and (started.scope, started.key) == (ACCOUNT, "cs1")
    assert guard.lockout("cs1", "192.0.2.77") is not None
    assert guard.unlock("cs1", by="admin1") is True
    assert guard.lockout("cs1", "192.0.2.77") is None
    with db.connect() as conn:
        rows = conn.execute(select(Event.action, Event.actor, Event.data).order_by(Event.id)).all()
    assert [(action, actor) for action, actor, _ in rows] == [
        (LOCKED_EVENT, None),
        (UNLOCKED_EVENT, "admin1"),
    ]
    assert rows[0].data["address"] == "198.51.100.3"
