"""Upgrades: processes refuse a database that is behind; ``afterflow upgrade`` backs up, then migrates."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import inspect

from engine.operations.nodes import beat
from engine.operations.schema_status import BEHIND, CURRENT, SchemaNotCurrent, code_heads, schema_status
from engine.store import schema
from engine.store.database import make_engine
from engine.store.schema import alembic_config
from tests.integration.ops_support import afterflow, drop_database, fresh_database
from web.app import create_app
from web.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
AFTERFLOW = Path(sys.executable).parent / "afterflow"


def _previous_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    (head,) = script.get_heads()
    revision = script.get_revision(head)
    assert revision is not None and isinstance(revision.down_revision, str)
    return revision.down_revision


@pytest.fixture
def behind(
    database: SqlEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """A demo database one migration behind this code, and its instance folder."""
    url = fresh_database(database, tmp_path, "behind")
    instance = tmp_path / "instance"
    try:
        assert afterflow(monkeypatch, url, instance, "setup-demo").exit_code == 0
        config = alembic_config(url)
        command.downgrade(config, _previous_revision())
        yield url, instance
    finally:
        drop_database(url)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_web_and_worker_refuse_a_database_one_migration_behind_then_upgrade_migrates_it(
    behind: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, instance = behind
    db = make_engine(url)
    try:
        assert schema_status(db).state == BEHIND
        env = {**os.environ, "DATABASE_URL": url, "AFTERFLOW_INSTANCE_DIR": str(instance)}
        for args in (["run", "--port", str(_free_port())], ["worker"]):
            served = subprocess.run(
                [str(AFTERFLOW), *args], env=env, capture_output=True, text=True, timeout=60, check=False
            )
            assert served.returncode == 1, served.stdout + served.stderr
            assert "the database schema is behind" in served.stderr
            assert "run `afterflow upgrade`" in served.stderr
        with pytest.raises(SchemaNotCurrent, match="afterflow upgrade"):
            create_app(settings=Settings(url, "k" * 32, instance, load_settings(instance).calendar))
        assert schema_status(db).state == BEHIND  # nothing was migrated by refusing

        done = afterflow(monkeypatch, url, instance, "upgrade")
        assert done.exit_code == 0, done.output
        assert "method: " in done.output and f"to {', '.join(code_heads())}" in done.output
        (archive,) = (instance / "backups").glob("before-upgrade-*.zip")
        assert "manifest.json" in zipfile.ZipFile(archive).namelist()
        assert schema_status(db).state == CURRENT
        again = afterflow(monkeypatch, url, instance, "upgrade")
        assert again.exit_code == 0 and "nothing to do" in again.output
        assert len(list((instance / "backups").glob("*.zip"))) == 1
    finally:
        db.dispose()


@pytest.fixture
def newer_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This code's migrations plus one more revision, as the next release would ship them."""
    folder = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = code_heads()
    (folder / "versions" / "9999_next_release.py").write_text(
        f'''"""The next release's change"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("next_release_note", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("next_release_note")
'''
    )
    monkeypatch.setattr(schema, "MIGRATIONS", folder)
    return head


def test_upgrade_refuses_while_a_process_serves_the_older_schema_unless_told(
    db: SqlEngine, newer_code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import clock

    url = db.url.render_as_string(hide_password=False)
    beat(db, "web@host:1:1", "web", newer_code, clock.now())
    refused = afterflow(monkeypatch, url, tmp_path, "upgrade")
    assert refused.exit_code == 1
    assert "an older schema is being served" in refused.output and "web@host:1:1" in refused.output
    assert "next_release_note" not in inspect(db).get_table_names()
    assert not (tmp_path / "backups").exists()

    forced = afterflow(
        monkeypatch, url, tmp_path, "upgrade", "--while-serving", "--backup-to", str(tmp_path / "b.zip")
    )
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "b.zip").exists() and "next_release_note" in inspect(db).get_table_names()
    # Leave the shared test database at this code's schema.
    command.downgrade(alembic_config(url), newer_code)
    assert schema_status(db).database == (newer_code,)
