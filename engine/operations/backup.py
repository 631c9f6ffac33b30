"""``backup``: one ZIP archive holding the database and the instance's files, with a manifest.

SQLite is copied through its online backup API (consistent while the app runs); PostgreSQL
through ``pg_dump`` when it is installed, else by a logical export of every table inside one
repeatable-read transaction. The manifest says which method was used, the schema revision and
the rows per table, so a restore can be checked against it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from engine import clock
from engine.errors import EngineError
from engine.operations.schema_status import schema_status
from engine.operations.table_dump import data_tables, export_rows, reflect, table_counts

SQLITE_BACKUP = "sqlite-backup"
PG_DUMP = "pg_dump"
LOGICAL = "logical"
METHODS = (SQLITE_BACKUP, PG_DUMP, LOGICAL)
ARCHIVE_FORMAT = 1

MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_DUMP_MEMBER = "database.pgdump"
TABLES_FOLDER = "tables/"
FILES_FOLDER = "files/"
#: Files of the instance folder that are not the company's data: the database itself (copied by
#: its own method), the generated session key, earlier backups and per-process metrics.
SKIPPED_FILES = ("afterflow.db", "afterflow.db-wal", "afterflow.db-shm", "secret_key")
SKIPPED_FOLDERS = ("backups", "metrics")


class BackupFailed(EngineError):
    """The backup could not be taken; no archive was left behind."""

    code = "backup_failed"


@dataclass
class BackupReport:
    """What went into an archive."""

    path: Path
    copied_with: str
    revisions: tuple[str, ...]
    tables: dict[str, int]
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def manifest(self) -> dict[str, object]:
        """The archive's manifest."""
        return {
            "format": ARCHIVE_FORMAT,
            "copied_with": self.copied_with,
            "revisions": list(self.revisions),
            "tables": self.tables,
            "files": self.files,
            "created_at": clock.now().isoformat(),
        }


def default_method(db: Engine) -> str:
    """SQLite's backup API for SQLite; ``pg_dump`` for PostgreSQL when it is on the PATH."""
    if db.dialect.name == "sqlite":
        return SQLITE_BACKUP
    return PG_DUMP if shutil.which("pg_dump") else LOGICAL


def backup(
    db: Engine, target: Path, files_dir: Path | None = None, copied_with: str | None = None
) -> BackupReport:
    """Write the database and the instance's files to the archive ``target``."""
    copied_with = copied_with or default_method(db)
    if copied_with not in METHODS:
        raise BackupFailed(f"unknown backup method '{copied_with}' (one of {', '.join(METHODS)})")
    if copied_with == SQLITE_BACKUP and db.dialect.name != "sqlite":
        raise BackupFailed("the SQLite backup API backs up SQLite databases only")
    if copied_with == PG_DUMP and db.dialect.name != "postgresql":
        raise BackupFailed("pg_dump backs up PostgreSQL databases only")
    status = schema_status(db)
    report = BackupReport(target, copied_with, status.database, {})
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            if copied_with == SQLITE_BACKUP:
                _sqlite_copy(db, archive, report)
            elif copied_with == PG_DUMP:
                try:
                    _pg_dump(db, archive, report)
                except BackupFailed as error:
                    # An old pg_dump refuses a newer server: the logical export still works.
                    report.copied_with = LOGICAL
                    report.notes.append(f"pg_dump failed ({error.message}); used the logical export")
                    _logical_export(db, archive, report)
            else:
                _logical_export(db, archive, report)
            if files_dir is not None:
                for path, name in _instance_files(files_dir):
                    archive.write(path, FILES_FOLDER + name)
                    report.files.append(name)
            archive.writestr(MANIFEST, json.dumps(report.manifest(), ensure_ascii=False, indent=2))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return report


def _sqlite_copy(db: Engine, archive: zipfile.ZipFile, report: BackupReport) -> None:
    database = db.url.database
    if not database or database == ":memory:":
        raise BackupFailed("an in-memory SQLite database cannot be backed up")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / SQLITE_MEMBER
        source = sqlite3.connect(database)
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        # Counted on the copy: the archive's numbers are the archive's rows.
        from engine.db import make_engine

        copied = make_engine(f"sqlite:///{copy}")
        try:
            with copied.connect() as connection:
                report.tables = table_counts(connection)
        finally:
            copied.dispose()
        archive.write(copy, SQLITE_MEMBER)


def _pg_dump(db: Engine, archive: zipfile.ZipFile, report: BackupReport) -> None:
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / PG_DUMP_MEMBER
        url, env = libpq_target(db.url)
        done = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(dump), url],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackupFailed(
                done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "pg_dump failed"
            )
        with db.connect() as connection:
            report.tables = table_counts(connection)
        archive.write(dump, PG_DUMP_MEMBER)


def _logical_export(db: Engine, archive: zipfile.ZipFile, report: BackupReport) -> None:
    options = {"isolation_level": "REPEATABLE READ"} if db.dialect.name == "postgresql" else {}
    with db.connect().execution_options(**options) as connection, connection.begin():
        for table in data_tables(reflect(connection)):
            count = 0
            with archive.open(f"{TABLES_FOLDER}{table.name}.jsonl", "w", force_zip64=True) as member:
                for line in export_rows(connection, table):
                    member.write(line.encode("utf-8") + b"\n")
                    count += 1
            report.tables[table.name] = count


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _instance_files(folder: Path) -> Iterator[tuple[Path, str]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.parts[0] in SKIPPED_FOLDERS or str(relative) in SKIPPED_FILES:
            continue
        if path.suffix == ".partial":
            continue
        yield path, relative.as_posix()
