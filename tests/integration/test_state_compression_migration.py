"""Migration 0029: states written as text before it read back after it, and as text again after a downgrade."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from alembic import command
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select, text

from engine.store.compressed_text import decompress_text
from engine.store.database import make_engine
from engine.store.models import ProcessInstance
from engine.store.schema import alembic_config
from tests.integration.ops_support import drop_database, fresh_database

AT = "2026-12-01 08:00:00+00:00"


def old_state(n: int) -> str:
    return json.dumps(
        {"data": {"customer_name": f"华东人民医院 {n}", "steps": list(range(n))}}, ensure_ascii=False
    )


def test_text_states_are_compressed_and_read_back_and_downgrade_restores_the_text(
    database: SqlEngine, tmp_path: Path
) -> None:
    url = fresh_database(database, tmp_path, "state_z")
    config = alembic_config(url)
    db = make_engine(url)
    try:
        command.upgrade(config, "0026")
        states = {n: old_state(n * 40) for n in range(1, 231)}  # more than one conversion batch
        with db.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO process_definition (id, process_key, version, name, checksum, files, spec_json, meta, deployed_at) "
                    "VALUES (1, 'p', 1, 'p', 'c', '{}', '{}', '{}', :at)"
                ),
                {"at": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO process_instance (id, business_number, definition_id, process_key, status, state, "
                    "lock_version, started_at, updated_at, late) VALUES (:id, :number, 1, 'p', 'active', :state, 1, :at, :at, false)"
                ),
                [{"id": n, "number": f"RO-{n}", "state": state, "at": AT} for n, state in states.items()],
            )
        command.upgrade(config, "0029")
        with db.connect() as connection:
            stored = {
                row[0]: row[1] for row in connection.execute(text("SELECT id, state FROM process_instance"))
            }
            typed = dict(
                connection.execute(
                    select(ProcessInstance.__table__.c.id, ProcessInstance.__table__.c.state)
                ).all()
            )
        assert all(isinstance(value, bytes) for value in stored.values())
        assert {n: zlib.decompress(value).decode("utf-8") for n, value in stored.items()} == states
        assert {n: decompress_text(value) for n, value in stored.items()} == states
        assert typed == states
        command.downgrade(config, "0026")
        with db.connect() as connection:
            back = {
                row[0]: row[1] for row in connection.execute(text("SELECT id, state FROM process_instance"))
            }
        assert back == states
    finally:
        db.dispose()
        drop_database(url)
