"""The statuses a case goes through, as the ``process_instance.status`` column holds them."""

from __future__ import annotations

ACTIVE = "running"
#: Waiting on its start timer: a scheduled process keeps one such case on its newest version.
SCHEDULED = "scheduled"
SUSPENDED = "suspended"
ERROR = "error"
COMPLETED = "completed"
TERMINATED = "terminated"
TERMINAL = frozenset({COMPLETED, TERMINATED})
