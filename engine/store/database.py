"""Database engine and session factory: SQLite by default (WAL), PostgreSQL by URL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.store.writer_gate import GatedConnection

DEFAULT_URL = "sqlite:///instance/afterflow.db"


class Base(DeclarativeBase):
    """Declarative base of every afterflow table."""


def table_of(model: type[Base]) -> Table:
    """The table a model maps (typed, for Core statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def upsert(session: Session, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into the model's table that can say ``ON CONFLICT`` (both databases have it)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"afterflow needs PostgreSQL or SQLite, not {dialect}")
    return postgresql.insert(table_of(model)) if dialect == "postgresql" else sqlite.insert(table_of(model))


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite (no row locks, one writer at a time)."""
    return engine.dialect.name == "sqlite"


def compact_json(value: Any) -> str:
    """JSON as the database keeps it: UTF-8 text as it is (not ``\\u`` escapes) and no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine with the settings afterflow relies on."""
    kwargs.setdefault("json_serializer", compact_json)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        kwargs["connect_args"] = {"factory": GatedConnection, **kwargs["connect_args"]}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # SQLite's driver opens transactions lazily and lets reads escape them. Writers begin
    # IMMEDIATE so "lock, load, save" is one serialised transaction; readers stay concurrent.
    writer = conn.get_execution_options().get(WRITER_OPTION, False)
    gated = conn.connection.dbapi_connection
    if writer and isinstance(gated, GatedConnection) and not gated.enter_gate():
        # The gate's wait took the whole timeout: one try at the write lock, no second wait.
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {gated.timeout_ms}")
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


WRITER_OPTION = "afterflow_writer"


def make_session_factory(engine: Engine, writer: bool = False) -> sessionmaker[Any]:
    """Return a session factory; ``writer`` sessions take SQLite's write lock when they begin."""
    bind = engine.execution_options(**{WRITER_OPTION: True}) if writer else engine
    return sessionmaker(bind=bind, expire_on_commit=False)
