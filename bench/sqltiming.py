"""Time every SQL statement a database runs, grouped by the statement's text."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event


def _key(statement: str) -> str:
    """A statement's first words, enough to tell it apart in a table."""
    return " ".join(statement.split())[:80]


class StatementTimer:
    """Keeps the duration of each call of each statement (driver call only, not the ORM around it)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.recording = False

    def attach(self, db: SqlEngine) -> None:
        """Listen to ``db``'s statements (only while ``recording`` is set)."""
        event.listen(db, "before_cursor_execute", self._before)
        event.listen(db, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        conn.info["bench_statement_started"] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        began = conn.info.pop("bench_statement_started", None)
        if self.recording and began is not None:
            self.samples[_key(statement)].append(time.perf_counter() - began)

    def timing(self, action: Callable[[], object]) -> float:
        """Run and time ``action`` (a completion), recording the statements it runs."""
        self.recording = True
        try:
            began = time.perf_counter()
            action()
            return time.perf_counter() - began
        finally:
            self.recording = False

    def calls(self, key: str) -> int:
        """How often a statement ran."""
        return len(self.samples.get(key, ()))

    def per_call(self, key: str) -> float:
        """Median seconds per call of a statement (0 if it never ran)."""
        found = self.samples.get(key)
        return statistics.median(found) if found else 0.0
