"""SQLite connections whose writers take turns at a file lock before ``BEGIN IMMEDIATE``.

SQLite lets one writer in at a time. A writer that finds the write lock taken waits in SQLite's
busy handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries: with several processes
writing one file (web workers, ``afterflow worker``, ``demo-load``'s workers), a waiting writer
spends much of its time asleep after the lock was already free.

The gate hands the write lock over as soon as it is free: a writer first takes an exclusive
``flock`` on ``<database>-writer`` and lets it go the moment its transaction is committed or
rolled back. Each connection has its own open file, so threads of one process queue at the gate
as well as processes. A writer that cannot pass within the connection's timeout tries SQLite's
write lock once, without waiting again: a writer that hangs is never waited for longer than
before, and one that does not use the gate (a migration tool, the ``sqlite3`` shell) meets
SQLite's own busy handling as before. A process that dies drops its lock with its files. Where
``flock`` is missing (Windows), or the gate's file cannot be made, there is no gate.

Taking turns is fair, and fairness has a price: without the gate one process often writes many
times in a row while the other sleeps (seconds, at worst), and with it each writer re-reads what
the other changed. ``bench.sqlite_writers`` measures both sides.
"""

from __future__ import annotations

import os
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

#: Seconds between two tries at a gate held by another writer.
_POLL = 0.0005


def gate_path(database: str | None) -> Path | None:
    """The gate's file for a SQLite database file (None for an in-memory database or no flock)."""
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}-writer")


class GatedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (given as its ``factory``) that can wait its turn to write."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._timeout = float(kwargs.get("timeout", args[0] if args else 5.0))
        path = gate_path(os.fsdecode(database))
        self._gate: int | None = None
        self._held = False
        if path is not None:
            try:
                self._gate = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return  # writers meet SQLite's busy handling alone
            self._closer = weakref.finalize(self, os.close, self._gate)

    def enter_gate(self) -> bool:
        """Wait (at most the connection's timeout) for this connection's turn to write.

        False when the time ran out: the writer has already waited as long as SQLite would have.
        """
        if self._gate is None or self._held:
            return True
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(self._gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_POLL)
                continue
            self._held = True
            return True

    @property
    def timeout_ms(self) -> int:
        """The connection's timeout in milliseconds (SQLite's ``busy_timeout``)."""
        return int(self._timeout * 1000)

    def _leave_gate(self) -> None:
        if self._held and self._gate is not None:
            self._held = False
            fcntl.flock(self._gate, fcntl.LOCK_UN)

    def commit(self) -> None:
        """Commit, then let the next writer in."""
        try:
            super().commit()
        finally:
            self._leave_gate()

    def rollback(self) -> None:
        """Roll back, then let the next writer in."""
        try:
            super().rollback()
        finally:
            self._leave_gate()

    def close(self) -> None:
        """Close the connection and its gate's file (which lets the next writer in too)."""
        try:
            super().close()
        finally:
            self._held = False
            if self._gate is not None:
                self._closer()
