"""SQLite writers queue at a file lock beside the database (``engine.store.writer_gate``)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from engine.store.database import WRITER_OPTION, make_engine, make_session_factory


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", connect_args={"timeout": 1.0})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def gate_is_free(path: Path) -> bool:
    """Tell whether another open file could take the gate now (and leave it at once)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock if it was taken
    return True


def test_a_writer_holds_the_gate_until_its_transaction_ends_and_a_reader_never_takes_it(
    db: Engine, tmp_path: Path
) -> None:
    gate = tmp_path / "gate.db-writer"
    writers, readers = make_session_factory(db, writer=True), make_session_factory(db)
    with db.execution_options(**{WRITER_OPTION: True}).connect() as conn:
        conn.execute(text("UPDATE counter SET n = n + 1"))
        assert not gate_is_free(gate)
        conn.commit()
        assert gate_is_free(gate)  # free from the commit on, while the connection is still in use
        conn.execute(text("UPDATE counter SET n = n - 1"))
        assert not gate_is_free(gate)
        conn.rollback()
        assert gate_is_free(gate)
    with writers.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert not gate_is_free(gate)
    assert gate_is_free(gate)
    with pytest.raises(RuntimeError), writers.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        assert not gate_is_free(gate)
        raise RuntimeError("rolled back")
    assert gate_is_free(gate)
    with readers() as session:
        assert session.scalar(text("SELECT n FROM counter")) == 2  # the rolled-back writes are gone
        assert gate_is_free(gate)


def test_a_gate_held_by_something_else_delays_a_writer_no_longer_than_its_timeout(
    db: Engine, tmp_path: Path
) -> None:
    fd = os.open(tmp_path / "gate.db-writer", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a holder that never lets go
        began = time.monotonic()
        with make_session_factory(db, writer=True).begin() as session:
            session.execute(text("UPDATE counter SET n = 7"))
        waited = time.monotonic() - began
    finally:
        os.close(fd)
    assert 1.0 <= waited < 5.0  # it did wait at the gate, for the connection's timeout ...
    with db.connect() as conn:
        assert conn.scalar(text("SELECT n FROM counter")) == 7  # ... and then wrote all the same


def test_a_writer_whose_turn_never_comes_is_refused_after_one_timeout_not_two(
    db: Engine, tmp_path: Path
) -> None:
    fd = os.open(tmp_path / "gate.db-writer", os.O_RDWR)
    other = sqlite3.connect(tmp_path / "gate.db", isolation_level=None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer holding the gate ...
        other.execute("BEGIN IMMEDIATE")  # ... and SQLite's write lock, for good
        began = time.monotonic()
        with (
            pytest.raises(OperationalError, match="locked"),
            make_session_factory(db, writer=True).begin() as session,
        ):
            session.execute(text("UPDATE counter SET n = 7"))
        waited = time.monotonic() - began
    finally:
        other.rollback()
        other.close()
        os.close(fd)
    assert 1.0 <= waited < 1.9  # the gate's timeout of 1 s, and no second second in SQLite's busy handler
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000  # waits as configured again
        assert conn.scalar(text("SELECT n FROM counter")) == 0


HOLDER = """
import sys, time
from sqlalchemy import text
from engine.store.database import WRITER_OPTION, make_engine, make_session_factory
session = make_session_factory(make_engine(sys.argv[1]), writer=True)()
session.execute(text("UPDATE counter SET n = 100"))
print("holding", flush=True)
time.sleep(600)
"""


def test_a_writer_that_dies_holding_the_gate_lets_the_next_one_in(db: Engine, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db.url)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        assert not gate_is_free(tmp_path / "gate.db-writer")
        holder.kill()
        holder.wait()
        with make_session_factory(db, writer=True).begin() as session:
            session.execute(text("UPDATE counter SET n = n + 1"))
    finally:
        holder.kill()
        holder.wait()
    with db.connect() as conn:
        assert conn.scalar(text("SELECT n FROM counter")) == 1  # the dead writer's update never committed


WRITER = """
import sys
from sqlalchemy import text
from engine.store.database import WRITER_OPTION, make_engine, make_session_factory
writers = make_session_factory(make_engine(sys.argv[1]), writer=True)
for _ in range(int(sys.argv[2])):
    with writers.begin() as session:
        n = session.scalar(text("SELECT n FROM counter"))
        session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
"""


def test_writers_in_several_processes_take_turns_and_lose_no_update(db: Engine) -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db.url), "150"], cwd=Path(__file__).resolve().parents[2]
        )
        for _ in range(3)
    ]
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0]
    with db.connect() as conn:
        assert conn.scalar(text("SELECT n FROM counter")) == 450


def test_an_in_memory_database_has_no_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a gate's file for no path at all would land here
    engine = make_engine("sqlite://")
    with make_session_factory(engine, writer=True).begin() as session:
        assert session.scalar(text("SELECT 1")) == 1
    engine.dispose()
    assert not any(tmp_path.iterdir())


def test_a_gate_file_that_cannot_be_made_leaves_the_writers_to_sqlite(tmp_path: Path) -> None:
    (tmp_path / "plain.db-writer").mkdir()  # something else holds the gate's name
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with make_session_factory(engine, writer=True).begin() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 1
    engine.dispose()
