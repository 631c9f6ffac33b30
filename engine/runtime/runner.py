"""The background runner: fires due timers, exactly once, however many runners share a database.

A runner claims due jobs with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and a lease, then fires
each instance's timers in the instance's own command, under its row lock. A second runner
that reaches the same instance finds the job already closed and does nothing. Between
rounds the runner sleeps until the next due time, or until a command creates a timer: in
this process through ``Engine.wakeup``, in another process on PostgreSQL through
``NOTIFY afterflow_timers`` (``engine.runtime.timer_wakeups``). The sleep is capped at
``max_sleep`` (1 s), so a timer another process wrote is fired within a second of its time
even on SQLite, or when a notification is lost with a dropped connection.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import case, func, or_, select

from engine import clock
from engine.audit.days import seal_closed_days
from engine.errors import EngineError
from engine.operations.nodes import BEAT_EVERY, RUNNER, beat, node_name, release
from engine.operations.schema_status import code_heads
from engine.runtime import Engine
from engine.runtime.timer_wakeups import WakeupListener
from engine.store.models import Job
from engine.webhooks.outbox import deliver_due

log = logging.getLogger(__name__)

#: How long a claimed job stays with its runner: a runner that died holding one leaves it for this long.
LEASE = timedelta(seconds=float(os.environ.get("AFTERFLOW_RUNNER_LEASE", "60")))
#: The longest a runner sleeps between two looks at the job table.
MAX_SLEEP = float(os.environ.get("AFTERFLOW_RUNNER_MAX_SLEEP", "1.0"))
#: Seconds between looks for a closed day of the audit trail to anchor.
SEAL_EVERY = 300.0


class TimerRunner:
    """Fire due timers of all instances, round after round."""

    def __init__(
        self,
        engine: Engine,
        name: str | None = None,
        max_sleep: float = MAX_SLEEP,
        batch: int = 50,
        side_work: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.engine = engine
        #: More background work run every round (the notifications' delivery).
        self.side_work = tuple(side_work)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.max_sleep = max_sleep
        self.batch = batch
        self.stopping = threading.Event()
        self.node = node_name(RUNNER)
        self.revision = ",".join(code_heads())
        self.started_at = clock.now()
        self._last_beat = float("-inf")
        self._last_seal = float("-inf")

    def claim_due(self) -> list[int]:
        """Lease due jobs to this runner and return the ids of their instances."""
        now = clock.now()
        with self.engine.writer.begin() as session:
            jobs = session.scalars(
                select(Job)
                .where(
                    Job.done_at.is_(None),
                    Job.due_at < now,
                    or_(Job.locked_until.is_(None), Job.locked_until < now),
                )
                .order_by(Job.due_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            for job in jobs:
                job.locked_by, job.locked_until = self.name, now + LEASE
            return list(dict.fromkeys(job.instance_id for job in jobs))

    def heartbeat(self) -> None:
        """Renew this runner's lease (``/readyz`` and ``afterflow doctor`` look for a live one)."""
        beat(self.engine.db, self.node, RUNNER, self.revision, self.started_at)
        self._last_beat = time.monotonic()

    def run_once(self) -> int:
        """Fire every timer that is due now; return how many fired."""
        if time.monotonic() - self._last_beat >= BEAT_EVERY:
            self.heartbeat()
        fired = 0
        for instance_id in self.claim_due():
            try:
                fired += self.engine.fire_due_timers(instance_id)
            except EngineError as error:
                self._note_failure(instance_id, error.message)
            except Exception as error:  # a broken instance must not stop the runner
                log.exception("firing timers of instance %s failed", instance_id)
                self._note_failure(instance_id, str(error))
        return fired

    def _note_failure(self, instance_id: int, message: str) -> None:
        with self.engine.writer.begin() as session:
            for job in session.scalars(
                select(Job).where(Job.instance_id == instance_id, Job.done_at.is_(None))
            ):
                if job.locked_by == self.name:
                    job.attempts += 1
                    job.last_error = message[:2000]
                    # Back off so one broken case does not spin the runner.
                    job.locked_until = clock.now() + min(
                        timedelta(seconds=10 * 2**job.attempts), timedelta(hours=1)
                    )

    def seal_closed_days(self) -> None:
        """Anchor the audit trail's closed days (looked at every few minutes; cheap when done)."""
        if time.monotonic() - self._last_seal < SEAL_EVERY:
            return
        with self.engine.writer.begin() as session:
            seal_closed_days(session)
        self._last_seal = time.monotonic()

    def seconds_until_next(self) -> float:
        """Seconds to sleep before the next due timer (capped at ``max_sleep``)."""
        with self.engine.sessions() as session:
            # A job leased to a runner (or backing off after a failure) is next due when its lease ends.
            next_due = session.scalar(
                select(
                    func.min(case((Job.locked_until > Job.due_at, Job.locked_until), else_=Job.due_at))
                ).where(Job.done_at.is_(None))
            )
        if next_due is None:
            return self.max_sleep
        seconds: float = (next_due - clock.now()).total_seconds()
        return max(0.05, min(self.max_sleep, seconds + 0.01))

    def serve(self) -> None:
        """Run rounds until ``stop`` is called."""
        log.info("timer runner %s started", self.name)
        listener = WakeupListener(self.engine.db, self.engine.wakeup)
        listener.start()
        while not self.stopping.is_set():
            try:
                while self.run_once():
                    pass
                deliver_due(self.engine.writer)
                self.seal_closed_days()
                for work in self.side_work:
                    work()
                delay = self.seconds_until_next()
            except Exception:  # the database may be briefly unavailable; keep the runner alive
                log.exception("timer runner round failed")
                delay = self.max_sleep
            self.engine.wakeup.wait(delay)
            self.engine.wakeup.clear()
        listener.stop()

    def start_thread(self) -> threading.Thread:
        """Run the runner in a daemon thread (the embedded default)."""
        thread = threading.Thread(target=self.serve, name="afterflow-timers", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the runner to stop after its current round, and give its lease back."""
        self.stopping.set()
        self.engine.wakeup.set()
        try:
            release(self.engine.db, self.node)
        except Exception:  # the lease ages out by itself
            log.warning("could not release the lease of %s", self.node, exc_info=True)
