"""Where a database stands against the migrations this code ships: current, behind, ahead or empty."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from engine.errors import EngineError
from engine.schema import alembic_config

CURRENT = "current"
BEHIND = "behind"
AHEAD = "ahead"
EMPTY = "empty"

UPGRADE_HINT = "stop the web and worker processes, then run `afterflow upgrade` (it takes a backup first)"


@dataclass(frozen=True)
class SchemaStatus:
    """The database's revisions next to the code's; ``state`` is one of the four words above."""

    state: str
    database: tuple[str, ...]
    code: tuple[str, ...]

    @property
    def is_current(self) -> bool:
        """Whether the database has exactly the schema this code needs."""
        return self.state == CURRENT

    def describe(self) -> str:
        """One line an operator understands, with what to do when the schema is not current."""
        have = ", ".join(self.database) or "no schema"
        need = ", ".join(self.code)
        if self.state == CURRENT:
            return f"the database schema is current ({need})"
        if self.state == BEHIND:
            return f"the database schema is behind (at {have}, this afterflow needs {need}): {UPGRADE_HINT}"
        if self.state == EMPTY:
            return f"the database has no afterflow schema yet: run `afterflow upgrade` to create it ({need})"
        return (
            f"the database schema ({have}) is newer than this afterflow ({need}): "
            "install the afterflow version that upgraded it"
        )


class SchemaNotCurrent(EngineError):
    """The database is not at the schema this code needs; nothing will be served from it."""

    code = "schema_not_current"

    def __init__(self, status: SchemaStatus) -> None:
        super().__init__(status.describe(), state=status.state)
        self.status = status


def code_heads(url: str = "sqlite://") -> tuple[str, ...]:
    """The head revisions of the migrations shipped with this code."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads()))


def schema_status(db: Engine) -> SchemaStatus:
    """Compare the database's applied revisions with the code's heads (one small query)."""
    script = ScriptDirectory.from_config(alembic_config(db.url.render_as_string(hide_password=False)))
    heads = tuple(sorted(script.get_heads()))
    with db.connect() as connection:
        applied = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    if not applied:
        return SchemaStatus(EMPTY, applied, heads)
    if applied == heads:
        return SchemaStatus(CURRENT, applied, heads)
    known = {revision.revision for revision in script.walk_revisions()}
    state = BEHIND if all(revision in known for revision in applied) else AHEAD
    return SchemaStatus(state, applied, heads)


def require_current(db: Engine) -> SchemaStatus:
    """Raise `SchemaNotCurrent` unless the database is at the code's schema."""
    status = schema_status(db)
    if not status.is_current:
        raise SchemaNotCurrent(status)
    return status
