"""Leases of the running processes: each web process, worker and runner beats while it serves.

``/readyz`` asks whether a runner beat within its lease; ``afterflow upgrade`` asks whether a
process still serves an older schema. A process that stops cleanly gives its lease back; one
killed ages out after ``LEASE``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import clock
from engine.db import Base, upsert
from engine.models import UTCDateTime

log = logging.getLogger(__name__)

#: A process not seen for this long is taken for dead (the runner's job lease is as long).
LEASE = timedelta(seconds=60)
#: How often a live process renews its lease.
BEAT_EVERY = 15.0

RUNNER = "runner"
WEB = "web"


class RuntimeNode(Base):
    """One serving process (or runner thread), with the schema it serves and when it was last seen."""

    __tablename__ = "runtime_node"

    name: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    schema_revision: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def node_name(kind: str) -> str:
    """A name unique to this process and thread: kind, host, pid."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def beat(db: Engine, name: str, kind: str, revision: str, started_at: datetime) -> None:
    """Renew (or take) the lease of ``name``."""
    now = clock.now()
    with Session(db.execution_options(afterflow_writer=True)) as session, session.begin():
        statement = upsert(session, RuntimeNode).values(
            name=name, kind=kind, schema_revision=revision, started_at=started_at, seen_at=now
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"seen_at": now, "schema_revision": revision}
            )
        )


def release(db: Engine, name: str) -> None:
    """Give the lease back (a clean stop)."""
    with Session(db.execution_options(afterflow_writer=True)) as session, session.begin():
        session.execute(delete(RuntimeNode).where(RuntimeNode.name == name))


def live_nodes(session: Session, kind: str | None = None) -> list[RuntimeNode]:
    """The processes seen within their lease, optionally of one kind."""
    query = select(RuntimeNode).where(RuntimeNode.seen_at > clock.now() - LEASE)
    if kind is not None:
        query = query.where(RuntimeNode.kind == kind)
    return list(session.scalars(query.order_by(RuntimeNode.name)))


class Heartbeat:
    """Keep one lease alive from a daemon thread until stopped."""

    def __init__(self, db: Engine, kind: str, revision: str) -> None:
        self.db, self.kind, self.revision = db, kind, revision
        self.name = node_name(kind)
        self.started_at = clock.now()
        self._stop = threading.Event()

    def beat(self) -> None:
        """Renew the lease now; a database that is down is retried at the next beat."""
        try:
            beat(self.db, self.name, self.kind, self.revision, self.started_at)
        except Exception:  # the database may be briefly unavailable; the next beat tries again
            log.warning("could not renew the lease of %s", self.name, exc_info=True)

    def start(self) -> threading.Thread:
        """Beat every ``BEAT_EVERY`` seconds in a daemon thread."""
        thread = threading.Thread(target=self._run, name=f"afterflow-{self.kind}-lease", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(BEAT_EVERY)

    def stop(self) -> None:
        """Stop beating and give the lease back."""
        self._stop.set()
        try:
            release(self.db, self.name)
        except Exception:
            log.warning("could not release the lease of %s", self.name, exc_info=True)
