"""Rate limits of the portal per client address, counted in the log-in throttle's store.

Every web process of a deployment sees the same counts (the database, or Redis when configured).
A hit past the limit in the window is refused until the window's lock-out ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from engine import clock
from engine.accounts.login_throttle import ThrottlePolicy, ThrottleStore

SUBMIT = "portal_submit"
VIEW = "portal_view"
WINDOW = timedelta(hours=1)


def policies(submits_per_hour: int, views_per_hour: int) -> dict[str, ThrottlePolicy]:
    """Return the policy of each portal scope (a hit counts as a "failure" of the store)."""
    return {
        scope: ThrottlePolicy(address_failures=max(1, limit), window=WINDOW, lockout=WINDOW)
        for scope, limit in ((SUBMIT, submits_per_hour), (VIEW, views_per_hour))
    }


class PortalLimiter:
    """Counts the portal's requests per address and scope."""

    def __init__(self, store: ThrottleStore, limits: Mapping[str, ThrottlePolicy]) -> None:
        self.store = store
        self.limits = dict(limits)

    def refused_until(self, scope: str, address: str) -> datetime | None:
        """Count one request; return when the address may come back if it is over the limit."""
        now = clock.now()
        until = self.store.locked_until(scope, address, now)
        if until is not None:
            return until
        self.store.record_failure(scope, address, now, self.limits[scope])
        return None
