"""Scratch databases for one benchmark phase: a fresh SQLite file, or a PostgreSQL database
created on the server named by ``DATABASE_URL`` and dropped afterwards.

The URL's own database is only used to issue ``CREATE DATABASE`` / ``DROP DATABASE`` when
the server's ``postgres`` maintenance database cannot be reached; no table in it is read
or written, so a shared ``test`` database is never disturbed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from engine.store.database import make_engine
from engine.store.schema import upgrade


@contextmanager
def sqlite_database(name: str) -> Iterator[SqlEngine]:
    """A fresh SQLite file (WAL, as in production) in a temporary directory, at the current schema."""
    with tempfile.TemporaryDirectory(prefix="afterflow-bench-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / f'{name}.db'}")
        try:
            upgrade(db)
            yield db
        finally:
            db.dispose()


def _admin_engine(url: URL) -> SqlEngine:
    """An AUTOCOMMIT connection to the server, preferably to its ``postgres`` database."""
    for candidate in (url.set(database="postgres"), url):
        admin = create_engine(candidate, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect():
                return admin
        except OperationalError:
            admin.dispose()
    raise RuntimeError(f"cannot connect to the PostgreSQL server of {url.render_as_string()}")


@contextmanager
def postgresql_database(url_text: str, name: str) -> Iterator[SqlEngine]:
    """A database of its own on the server of ``url_text``, created now and dropped at the end."""
    url = make_url(url_text)
    scratch = f"afterflow_bench_{os.getpid()}_{name}"
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        db = make_engine(url.set(database=scratch).render_as_string(hide_password=False))
        try:
            upgrade(db)
            yield db
        finally:
            db.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgresql_server_version(url_text: str) -> str:
    """The server's version string (``SHOW server_version``)."""
    admin = _admin_engine(make_url(url_text))
    try:
        with admin.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        admin.dispose()


@contextmanager
def scratch_database(backend: str, name: str, url: str | None) -> Iterator[SqlEngine]:
    """A fresh database of the backend ("sqlite" or "postgresql") for one phase."""
    if backend == "sqlite":
        with sqlite_database(name) as db:
            yield db
    elif backend == "postgresql" and url:
        with postgresql_database(url, name) as db:
            yield db
    else:
        raise ValueError(f"no database for backend {backend!r}")
