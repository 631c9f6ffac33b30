"""``afterflow backup FILE`` and ``afterflow restore FILE``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from engine.db import make_engine
from engine.errors import EngineError
from engine.operations.backup import METHODS, BackupReport, backup
from engine.operations.restore import restore
from engine.operations.schema_status import schema_status
from web.settings import load_settings


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default=None,
    help="Default: the SQLite backup API for SQLite; pg_dump for PostgreSQL when installed, else logical.",
)
def backup_command(file: Path, method: str | None) -> None:
    """Write the database, its attachments and documents, and the instance's files to FILE (a ZIP)."""
    settings = load_settings()
    db = make_engine(settings.database_url)
    try:
        report = backup(db, file, settings.instance_dir, method)
    except EngineError as error:
        _fail(error.message)
    except Exception as error:  # the database is down or refuses: one plain line
        _fail(f"no backup was written: {_first_line(error)}")
    finally:
        db.dispose()
    print_backup(report)


def print_backup(report: BackupReport) -> None:
    """Say what went into the archive and how it was taken."""
    for note in report.notes:
        click.echo(note)
    rows = sum(report.tables.values())
    click.echo(
        f"backup written to {report.path} (method: {report.copied_with}; schema {', '.join(report.revisions)}; "
        f"{len(report.tables)} tables, {rows} rows; {len(report.files)} files)"
    )


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Load the backup FILE into the configured database, which must be empty."""
    settings = load_settings()
    db = make_engine(settings.database_url)
    try:
        report = restore(db, file, settings.instance_dir)
        status = schema_status(db)
    except EngineError as error:
        _fail(error.message)
    except Exception as error:
        _fail(f"the restore failed: {_first_line(error)}")
    finally:
        db.dispose()
    rows = sum(report.tables.values())
    click.echo(
        f"restored {file} (method: {report.copied_with}; {len(report.tables)} tables, {rows} rows; "
        f"{len(report.files)} files)"
    )
    if not status.is_current:
        click.echo(status.describe())


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
