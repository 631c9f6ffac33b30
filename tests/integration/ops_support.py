"""Helpers of the operations tests: the CLI against a chosen database, fresh target databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import MetaData, create_engine, make_url, text

from web.cli import main as cli_main


def url_of(db: SqlEngine) -> str:
    """The database's URL with its password, as DATABASE_URL takes it."""
    return db.url.render_as_string(hide_password=False)


def afterflow(monkeypatch: pytest.MonkeyPatch, url: str, instance_dir: Path, *args: str) -> Result:
    """Run ``afterflow ARGS`` against the database ``url`` with ``instance_dir`` as its instance folder."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(instance_dir))
    return CliRunner().invoke(cli_main, list(args))


def fresh_database(source: SqlEngine, tmp_path: Path, suffix: str = "restore") -> str:
    """The URL of a new, empty database beside ``source`` (same server for PostgreSQL)."""
    if source.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path / f'{suffix}.db'}"
    url = make_url(url_of(source))
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by `fresh_database` (a SQLite file is left to tmp_path)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def drop_all_tables(db: SqlEngine) -> None:
    """Leave ``db`` without any table (Alembic's included)."""
    with db.begin() as connection:
        meta = MetaData()
        meta.reflect(connection)
        meta.drop_all(connection)
