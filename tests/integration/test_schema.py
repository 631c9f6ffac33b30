"""The schema is only changed by migrations: upgrading to head gives exactly the models' tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine as SqlEngine

import processes.tables  # noqa: F401  (the domain's tables are part of the schema)
from engine.store.database import Base


def test_the_migrated_database_matches_the_models(db: SqlEngine) -> None:
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
