"""``afterflow upgrade``: take a backup, then bring the schema to this code's migrations, once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from engine import clock
from engine.db import make_engine
from engine.errors import EngineError
from engine.operations.backup import backup
from engine.operations.nodes import RuntimeNode, live_nodes
from engine.operations.schema_status import AHEAD, CURRENT, EMPTY, schema_status
from engine.schema import upgrade
from web.ops.backup_cli import print_backup
from web.settings import load_settings

#: PostgreSQL advisory lock key ("afterflow upgrade"): two upgrades never migrate at once.
UPGRADE_LOCK = 0x0AF7E12F


@click.command("upgrade")
@click.option(
    "--backup-to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the backup taken first goes (default: instance/backups/before-upgrade-….zip).",
)
@click.option(
    "--while-serving",
    is_flag=True,
    help="Migrate even though web or worker processes still serve the older schema.",
)
def upgrade_command(backup_to: Path | None, while_serving: bool) -> None:
    """Back the database up, then apply the migrations it lacks (refused while an older schema is served)."""
    settings = load_settings()
    db = make_engine(settings.database_url)
    try:
        with _exclusive(db):
            _upgrade(db, settings.instance_dir, backup_to, while_serving)
    except EngineError as error:
        _fail(error.message)
    finally:
        db.dispose()


def _upgrade(db: Engine, instance_dir: Path, backup_to: Path | None, while_serving: bool) -> None:
    status = schema_status(db)
    if status.state == CURRENT:
        click.echo(f"nothing to do: {status.describe()}")
        return
    if status.state == AHEAD:
        _fail(status.describe())
    if status.state == EMPTY:
        upgrade(db)
        click.echo(
            f"schema created ({', '.join(schema_status(db).database)}); no data, so no backup was needed"
        )
        return
    serving = _serving_older(db, status.code)
    if serving and not while_serving:
        for node in serving:
            click.echo(
                f"{node.name} serves schema {node.schema_revision} (seen {node.seen_at:%H:%M:%S} UTC)",
                err=True,
            )
        _fail(
            "an older schema is being served: stop the web and worker processes first "
            "(or pass --while-serving to migrate under them)"
        )
    target = backup_to or _default_backup_path(instance_dir, status.database)
    report = backup(db, target, instance_dir)
    print_backup(report)
    upgrade(db)
    after = schema_status(db)
    click.echo(f"upgraded the schema from {', '.join(status.database)} to {', '.join(after.database)}")


def _serving_older(db: Engine, code: tuple[str, ...]) -> list[RuntimeNode]:
    with Session(db) as session:
        if "runtime_node" not in inspect(session.connection()).get_table_names():
            return []  # the schema predates leases: no process can be seen
        return [node for node in live_nodes(session) if node.schema_revision != ",".join(code)]


def _default_backup_path(instance_dir: Path, revisions: tuple[str, ...]) -> Path:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return instance_dir / "backups" / f"before-upgrade-{'-'.join(revisions)}-{stamp}.zip"


@contextmanager
def _exclusive(db: Engine) -> Iterator[None]:
    # SQLite serialises writers by itself; PostgreSQL needs a lock held across backup and migration.
    if db.dialect.name != "postgresql":
        yield
        return
    with db.connect() as connection:
        locked = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": UPGRADE_LOCK}).scalar()
        if not locked:
            _fail("another `afterflow upgrade` is running on this database")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK})


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)
