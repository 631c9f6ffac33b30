"""Login throttling: count failed log-ins per account and per address, lock out after too many.

The counts live where every process of a deployment sees them: the database by default, or
Redis when one is configured. A lock-out is temporary (it ends by itself) and is recorded as an
audit event; an administrator can end it early (``unlock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import make_session_factory, upsert
from engine.models import Event, LoginThrottle

ACCOUNT = "account"
ADDRESS = "address"
LOCKED_EVENT = "login_locked"
UNLOCKED_EVENT = "login_unlocked"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures within a window lock an account or an address, and for how long."""

    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    def limit(self, scope: str) -> int:
        """Return the number of failures that locks this scope."""
        return self.account_failures if scope == ACCOUNT else self.address_failures


@dataclass(frozen=True)
class Lockout:
    """A key that may not log in until ``until``."""

    scope: str
    key: str
    until: datetime


class ThrottleStore(Protocol):
    """Where failures and lock-outs are kept (shared by all processes)."""

    def locked_until(self, scope: str, key: str, now: datetime) -> datetime | None:
        """Return when the lock-out of this key ends, or None if it is not locked."""

    def record_failure(self, scope: str, key: str, now: datetime, policy: ThrottlePolicy) -> datetime | None:
        """Count one failure; return the end of the lock-out it starts, if it starts one."""

    def clear(self, scope: str, key: str) -> bool:
        """Forget the failures and any lock-out of this key; tell whether there was a lock-out."""


class DatabaseThrottleStore:
    """Failures and lock-outs in the ``login_throttle`` table."""

    def __init__(self, db: SqlEngine) -> None:
        self.readers = make_session_factory(db)
        self.writers = make_session_factory(db, writer=True)

    def locked_until(self, scope: str, key: str, now: datetime) -> datetime | None:
        """Return when the lock-out of this key ends, or None if it is not locked."""
        with self.readers() as session:
            until = session.scalar(
                select(LoginThrottle.locked_until).where(
                    LoginThrottle.scope == scope, LoginThrottle.key == key
                )
            )
        return until if until is not None and until > now else None

    def record_failure(self, scope: str, key: str, now: datetime, policy: ThrottlePolicy) -> datetime | None:
        """Count one failure; return the end of the lock-out it starts, if it starts one."""
        with self.writers.begin() as session:
            # Insert-if-missing then lock the row: concurrent failures from several processes
            # are all counted (PostgreSQL row lock; SQLite's writer transaction is exclusive).
            session.execute(
                upsert(session, LoginThrottle)
                .values(scope=scope, key=key, failures=0, window_started_at=now, locked_until=None)
                .on_conflict_do_nothing()
            )
            row = session.scalars(
                select(LoginThrottle)
                .where(LoginThrottle.scope == scope, LoginThrottle.key == key)
                .with_for_update()
            ).one()
            if row.window_started_at + policy.window <= now:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures < policy.limit(scope):
                return None
            row.failures, row.window_started_at = 0, now
            row.locked_until = now + policy.lockout
            return row.locked_until

    def clear(self, scope: str, key: str) -> bool:
        """Forget the failures and any lock-out of this key; tell whether there was a lock-out."""
        with self.writers.begin() as session:
            until = session.scalar(
                select(LoginThrottle.locked_until).where(
                    LoginThrottle.scope == scope, LoginThrottle.key == key
                )
            )
            session.execute(
                delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
            )
        return until is not None and until > clock.now()


class RedisThrottleStore:
    """Failures and lock-outs in Redis (keys expire by themselves), for deployments that run one."""

    def __init__(self, url: str, prefix: str = "afterflow:login") -> None:
        import redis  # only needed when Redis is configured

        self.redis: Any = redis.Redis.from_url(url)
        self.prefix = prefix

    def _key(self, kind: str, scope: str, key: str) -> str:
        return f"{self.prefix}:{kind}:{scope}:{key}"

    def locked_until(self, scope: str, key: str, now: datetime) -> datetime | None:
        """Return when the lock-out of this key ends, or None if it is not locked."""
        stamp = self.redis.get(self._key("lock", scope, key))
        if stamp is None:
            return None
        until = datetime.fromisoformat(stamp.decode())
        return until if until > now else None

    def record_failure(self, scope: str, key: str, now: datetime, policy: ThrottlePolicy) -> datetime | None:
        """Count one failure; return the end of the lock-out it starts, if it starts one."""
        counter = self._key("fail", scope, key)
        with self.redis.pipeline() as pipe:
            pipe.incr(counter)
            pipe.expire(counter, int(policy.window.total_seconds()), nx=True)
            failures, _ = pipe.execute()
        if int(failures) < policy.limit(scope):
            return None
        until = now + policy.lockout
        with self.redis.pipeline() as pipe:
            pipe.delete(counter)
            pipe.set(self._key("lock", scope, key), until.isoformat(), ex=int(policy.lockout.total_seconds()))
            pipe.execute()
        return until

    def clear(self, scope: str, key: str) -> bool:
        """Forget the failures and any lock-out of this key; tell whether there was a lock-out."""
        was_locked = self.locked_until(scope, key, clock.now()) is not None
        self.redis.delete(self._key("fail", scope, key), self._key("lock", scope, key))
        return was_locked


def account_key(username: str) -> str:
    """Return the key a user name is counted under (spelling variants count together)."""
    return username.strip().casefold()[:128]


class LoginGuard:
    """Decides whether a log-in may be tried, and counts the failures (audited lock-outs)."""

    def __init__(
        self, store: ThrottleStore, audit_db: SqlEngine, policy: ThrottlePolicy | None = None
    ) -> None:
        self.store = store
        self.policy = policy or ThrottlePolicy()
        self.audit = make_session_factory(audit_db, writer=True)

    def lockout(self, username: str, address: str) -> Lockout | None:
        """Return the lock-out that refuses this user name from this address, if any."""
        now = clock.now()
        for scope, key in ((ACCOUNT, account_key(username)), (ADDRESS, address)):
            until = self.store.locked_until(scope, key, now)
            if until is not None:
                return Lockout(scope, key, until)
        return None

    def account_locked_until(self, username: str) -> datetime | None:
        """Return when the lock-out of this account ends, or None if it is not locked."""
        return self.store.locked_until(ACCOUNT, account_key(username), clock.now())

    def failed(self, username: str, address: str) -> Lockout | None:
        """Count a failed log-in; return the lock-out it started, if any (audited)."""
        now = clock.now()
        started: Lockout | None = None
        for scope, key in ((ACCOUNT, account_key(username)), (ADDRESS, address)):
            until = self.store.record_failure(scope, key, now, self.policy)
            if until is not None:
                started = started or Lockout(scope, key, until)
                self._record(
                    LOCKED_EVENT,
                    actor=None,
                    data={"scope": scope, "key": key, "address": address, "until": until.isoformat()},
                )
        return started

    def succeeded(self, username: str) -> None:
        """Forget the account's failures after a good log-in (the address keeps its count)."""
        self.store.clear(ACCOUNT, account_key(username))

    def unlock(self, username: str, by: str) -> bool:
        """End an account's lock-out early; tell whether it was locked (audited)."""
        was_locked = self.store.clear(ACCOUNT, account_key(username))
        self._record(
            UNLOCKED_EVENT,
            actor=by,
            data={"scope": ACCOUNT, "key": account_key(username), "was_locked": was_locked},
        )
        return was_locked

    def _record(self, action: str, actor: str | None, data: dict[str, Any]) -> None:
        with self.audit.begin() as session:
            record_account_event(session, action, actor, data)


def record_account_event(session: Session, action: str, actor: str | None, data: dict[str, Any]) -> None:
    """Append an audit event about accounts (no case): who, what, when."""
    session.add(Event(instance_id=None, actor=actor, action=action, at=clock.now(), data=data))
