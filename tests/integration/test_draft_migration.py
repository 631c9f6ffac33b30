"""Migration 0026: the shared draft of a process becomes the draft of the person who saved it last."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from engine.store.database import make_engine
from engine.store.schema import alembic_config
from tests.integration.ops_support import drop_database, fresh_database


def test_shared_drafts_move_to_their_last_saver_and_back(database: SqlEngine, tmp_path: Path) -> None:
    url = fresh_database(database, tmp_path, "drafts")
    config = alembic_config(url)
    db = make_engine(url)
    try:
        command.upgrade(config, "0023")
        with db.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO definition_draft (process_key, files, base_version, author, updated_at) "
                    "VALUES ('repair_service', :files, 1, 'owner2', :at)"
                ),
                {"files": '{"repair_service.bpmn": "<x/>"}', "at": "2026-12-01 08:00:00+00:00"},
            )
        command.upgrade(config, "0026")
        with db.connect() as connection:
            rows = connection.execute(
                text("SELECT process_key, author, base_version, files, seen_at FROM process_draft")
            ).all()
        assert len(rows) == 1
        key, author, base, files, seen = rows[0]
        assert (key, author, base, seen) == ("repair_service", "owner2", 1, None)
        assert "repair_service.bpmn" in str(files)
        with db.begin() as connection:  # a second owner's draft of the same process
            connection.execute(
                text(
                    "INSERT INTO process_draft (process_key, author, files, base_version, started_at, updated_at) "
                    "VALUES ('repair_service', 'owner1', '{}', 1, :at, :at)"
                ),
                {"at": "2026-12-02 08:00:00+00:00"},
            )
        command.downgrade(config, "0023")
        with db.connect() as connection:
            kept = connection.execute(text("SELECT process_key, author FROM definition_draft")).all()
        assert [tuple(r) for r in kept] == [("repair_service", "owner1")]  # the latest saved one
    finally:
        db.dispose()
        drop_database(url)
