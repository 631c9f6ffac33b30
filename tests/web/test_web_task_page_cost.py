"""A task page reads little: a few SQL statements and kilobytes, not the definition's source and spec."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event

MAX_STATEMENTS = 4
MAX_BYTES = 50 * 1024
#: Transaction control is not a query: the SQLite driver sends BEGIN through a cursor, psycopg does not.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Reads:
    """The statements a piece of work ran, with their parameters."""

    statements: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def queries(self) -> list[tuple[str, Any]]:
        return [
            (sql, params)
            for sql, params in self.statements
            if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL)
        ]


def value_bytes(value: Any) -> int:
    """The size of one value of a result row as the database sends it (roughly, for numbers)."""
    if value is None:
        return 0
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool | int | float | Decimal | datetime | date):
        return 8
    return len(str(value).encode("utf-8"))  # JSON documents the driver already decoded


def result_bytes(db: SqlEngine, reads: Reads) -> int:
    """Run each query again (nothing changed since) and add up the bytes of every row it returns."""
    total = 0
    with db.connect() as connection:
        for sql, params in reads.queries:
            rows = connection.exec_driver_sql(sql, params).fetchall()
            total += sum(value_bytes(value) for row in rows for value in row)
    return total


@contextmanager
def counting(db: SqlEngine) -> Iterator[Reads]:
    """Record every statement sent to ``db`` inside the block (an SQLAlchemy event listener)."""
    reads = Reads()

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        reads.statements.append((statement, parameters))

    event.listen(db, "before_cursor_execute", record)
    try:
        yield reads
    finally:
        event.remove(db, "before_cursor_execute", record)


def test_a_task_page_runs_at_most_four_statements_and_reads_under_50_kb(web) -> None:
    number, arrival = web.repair_at_arrival()
    tech1 = web.client("tech1")
    tech1.post(f"/tasks/{arrival.id}/comments", data={"body": "已出发，预计两小时到达"})
    assert tech1.get(f"/tasks/{arrival.id}").status_code == 200  # parsed specs and forms are cached now

    with counting(web.engine.db) as reads:
        page = tech1.get(f"/tasks/{arrival.id}")

    assert page.status_code == 200
    assert number in page.text and "已出发，预计两小时到达" in page.text  # the whole page, comments included
    assert len(reads.queries) <= MAX_STATEMENTS, [sql.split("FROM")[0][:80] for sql, _ in reads.queries]
    assert result_bytes(web.engine.db, reads) < MAX_BYTES


def test_a_supervisors_page_lists_whom_to_assign_within_the_same_four_statements(web) -> None:
    _number, arrival = web.repair_at_arrival()
    sup1 = web.client("sup1")
    sup1.get(f"/tasks/{arrival.id}")

    with counting(web.engine.db) as reads:
        page = sup1.get(f"/tasks/{arrival.id}")

    assert page.status_code == 200
    assert 'name="assignee"' in page.text and "tech1" in page.text
    assert len(reads.queries) <= MAX_STATEMENTS
    assert result_bytes(web.engine.db, reads) < MAX_BYTES


def test_the_counter_sees_what_a_page_reads(web) -> None:
    _number, arrival = web.repair_at_arrival()
    tech1 = web.client("tech1")
    with counting(web.engine.db) as reads:
        tech1.get(f"/tasks/{arrival.id}")
        tech1.get(f"/tasks/{arrival.id}")
    assert len(reads.queries) >= 2 * 3  # each page reads its user, its task and case, its people
    assert result_bytes(web.engine.db, reads) > 1000
