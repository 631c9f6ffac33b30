"""``restore``: load a backup archive into an empty database, and its files into the instance folder.

A database holding any row is refused: a restore never merges into, or overwrites, live data.
Empty tables left by an earlier set-up are dropped first, then the archive's own method loads
it (SQLite backup API, ``pg_restore``, or the logical import after migrating to the archive's
revision). The leases of the processes that served the source are not carried over.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, delete, inspect, text

from engine.errors import EngineError
from engine.operations.backup import (
    FILES_FOLDER,
    LOGICAL,
    MANIFEST,
    PG_DUMP,
    PG_DUMP_MEMBER,
    SQLITE_BACKUP,
    SQLITE_MEMBER,
    TABLES_FOLDER,
    libpq_target,
)
from engine.operations.table_dump import (
    ALEMBIC_TABLE,
    TRANSIENT_TABLES,
    data_tables,
    import_rows,
    reflect,
    reset_sequences,
    table_counts,
)
from engine.schema import alembic_config


class RestoreRefused(EngineError):
    """The archive cannot be restored here; the database was left as it was."""

    code = "restore_refused"


@dataclass
class RestoreReport:
    """What a restore loaded."""

    copied_with: str
    revisions: tuple[str, ...]
    tables: dict[str, int]
    files: list[str] = field(default_factory=list)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup archive; refuse anything that is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest: dict[str, Any] = json.loads(archive.read(MANIFEST))
    except FileNotFoundError:
        raise RestoreRefused(f"no file {path}")
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise RestoreRefused(f"{path} is not an afterflow backup (no readable manifest)")
    return manifest


def nonempty_tables(db: Engine) -> dict[str, int]:
    """Tables of the database holding rows (Alembic's bookkeeping aside)."""
    with db.connect() as connection:
        return {name: count for name, count in table_counts(connection).items() if count}


def restore(db: Engine, source: Path, files_dir: Path | None = None) -> RestoreReport:
    """Load the archive ``source`` into the empty database ``db`` (and its files into ``files_dir``)."""
    manifest = read_manifest(source)
    copied_with = str(manifest.get("copied_with"))
    revisions = tuple(str(revision) for revision in manifest.get("revisions", []))
    _check_revisions_known(db, revisions)
    occupied = nonempty_tables(db)
    if occupied:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(occupied.items())[:5])
        raise RestoreRefused(f"the database is not empty ({listed}): restore into a new, empty database")
    with zipfile.ZipFile(source) as archive:
        if copied_with == SQLITE_BACKUP and db.dialect.name == "sqlite":
            _restore_sqlite(db, archive)
        elif copied_with == SQLITE_BACKUP:
            _restore_sqlite_logically(db, archive, revisions)
        elif copied_with == PG_DUMP:
            _restore_pg_dump(db, archive)
        elif copied_with == LOGICAL:
            _drop_empty_tables(db)
            _migrate_to(db, revisions)
            _load_tables(db, archive)
        else:
            raise RestoreRefused(f"unknown backup method '{copied_with}' in the archive")
        files = _restore_files(archive, files_dir) if files_dir is not None else []
    _forget_transient(db)
    with db.connect() as connection:
        counts = table_counts(connection)
    return RestoreReport(copied_with, revisions, counts, files)


def _check_revisions_known(db: Engine, revisions: tuple[str, ...]) -> None:
    script = ScriptDirectory.from_config(alembic_config(db.url.render_as_string(hide_password=False)))
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        raise RestoreRefused(
            f"the backup has schema {', '.join(unknown)}, newer than this afterflow: "
            "restore it with the afterflow version that took it"
        )


def _drop_empty_tables(db: Engine) -> None:
    with db.begin() as connection:
        meta = reflect(connection)
        meta.drop_all(connection)


def _migrate_to(db: Engine, revisions: tuple[str, ...]) -> None:
    config = alembic_config(db.url.render_as_string(hide_password=False))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        for revision in revisions or ("head",):
            command.upgrade(config, revision)


def _load_tables(db: Engine, archive: zipfile.ZipFile) -> None:
    members = set(archive.namelist())
    with db.begin() as connection:
        tables = data_tables(reflect(connection))
        # Migrations may seed rows (settings, reference data): the archive's rows replace them.
        for table in reversed(tables):
            connection.execute(table.delete())
        for table in tables:
            member = f"{TABLES_FOLDER}{table.name}.jsonl"
            if member not in members:
                continue
            with archive.open(member) as stream:
                import_rows(connection, table, (line.decode("utf-8") for line in stream))
        reset_sequences(connection, tables)


def _restore_sqlite(db: Engine, archive: zipfile.ZipFile) -> None:
    database = db.url.database
    if not database or database == ":memory:":
        raise RestoreRefused("restore needs a SQLite database file, not an in-memory database")
    db.dispose()  # no pooled connection may hold the file while it is replaced
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(archive.extract(SQLITE_MEMBER, folder))
        source = sqlite3.connect(copy)
        destination = sqlite3.connect(database)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()


def _restore_sqlite_logically(db: Engine, archive: zipfile.ZipFile, revisions: tuple[str, ...]) -> None:
    # A SQLite archive restored into PostgreSQL: read its rows through a throw-away engine.
    from engine.db import make_engine
    from engine.operations.table_dump import export_rows

    _drop_empty_tables(db)
    _migrate_to(db, revisions)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(archive.extract(SQLITE_MEMBER, folder))
        source = make_engine(f"sqlite:///{copy}")
        try:
            with source.connect() as reader, db.begin() as writer:
                source_tables = {table.name: table for table in data_tables(reflect(reader))}
                targets = data_tables(reflect(writer))
                for table in reversed(targets):
                    writer.execute(table.delete())
                for table in targets:
                    if table.name in source_tables:
                        import_rows(writer, table, export_rows(reader, source_tables[table.name]))
                reset_sequences(writer, targets)
        finally:
            source.dispose()


def _restore_pg_dump(db: Engine, archive: zipfile.ZipFile) -> None:
    if db.dialect.name != "postgresql":
        raise RestoreRefused(
            "this archive was taken with pg_dump and restores into PostgreSQL only "
            "(take one with `afterflow backup --copied_with logical` to move to SQLite)"
        )
    if shutil.which("pg_restore") is None:
        raise RestoreRefused("pg_restore is not installed (install the PostgreSQL client tools)")
    _drop_empty_tables(db)
    with db.begin() as connection:
        connection.execute(text(f'DROP TABLE IF EXISTS "{ALEMBIC_TABLE}"'))
    db.dispose()
    with tempfile.TemporaryDirectory() as folder:
        dump = archive.extract(PG_DUMP_MEMBER, folder)
        url, env = libpq_target(db.url)
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", url, dump],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RestoreRefused(f"pg_restore failed: {done.stderr.strip()[:500]}")


def _forget_transient(db: Engine) -> None:
    with db.begin() as connection:
        names = set(inspect(connection).get_table_names())
        meta = MetaData()
        for name in TRANSIENT_TABLES & names:
            meta.reflect(connection, only=[name])
            connection.execute(delete(meta.tables[name]))


def _restore_files(archive: zipfile.ZipFile, folder: Path) -> list[str]:
    restored = []
    for name in archive.namelist():
        if not name.startswith(FILES_FOLDER) or name.endswith("/"):
            continue
        relative = PurePosixPath(name[len(FILES_FOLDER) :])
        if relative.is_absolute() or ".." in relative.parts:
            continue  # an archive never writes outside the instance folder
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(name) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
        restored.append(relative.as_posix())
    return restored
