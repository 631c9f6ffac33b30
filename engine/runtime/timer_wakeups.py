"""Wake timer runners in other processes when a command creates a timer (PostgreSQL ``LISTEN/NOTIFY``).

A trigger on the ``job`` table (migration 0031) sends ``NOTIFY afterflow_timers`` for every
new open job, in the transaction that inserts it, so the notification is delivered when (and
only if) that transaction commits — no statement of the command's own. Each runner keeps one
extra connection listening on that channel and sets its engine's wake-up event on every
notification; the runner then looks at the job table at once instead of at its next round.
On SQLite there is no such channel: runners there rely on their one-second round.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine as SqlEngine

log = logging.getLogger(__name__)

CHANNEL = "afterflow_timers"


class WakeupListener:
    """A daemon thread holding a listening connection; each notification sets ``wakeup``."""

    def __init__(self, db: SqlEngine, wakeup: threading.Event, retry_after: float = 5.0) -> None:
        self.db = db
        self.wakeup = wakeup
        self.retry_after = retry_after
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen in the background (nothing to do on SQLite)."""
        if self.db.dialect.name != "postgresql":
            return
        self.thread = threading.Thread(target=self._listen, name="afterflow-timer-wakeups", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening after the current wait (at most a second)."""
        self.stopping.set()

    def _listen(self) -> None:
        while not self.stopping.is_set():
            try:
                self._listen_once()
            except Exception:  # a dropped connection: the runner's own round covers the gap
                log.warning("listening for new timers failed; retrying", exc_info=True)
                self.stopping.wait(self.retry_after)

    def _listen_once(self) -> None:
        raw: Any = self.db.raw_connection()
        try:
            conn = raw.driver_connection
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            while not self.stopping.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    self.wakeup.set()
        finally:
            raw.invalidate()  # a connection left listening must not go back to the pool
