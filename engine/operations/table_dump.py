"""A logical export of every table as JSON lines, and its import: works between SQLite and PostgreSQL.

Values are written by Python type (datetimes in UTC ISO form, bytes in base64, decimals as
text) and read back by the target column's type, so a dump taken from one database loads into
the other.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, MetaData, Table, func, select, text, types

#: Alembic's bookkeeping: written by running the migrations to the dump's revision, never copied.
ALEMBIC_TABLE = "alembic_version"
#: Leases of the processes that served the source database: meaningless on the restored one.
TRANSIENT_TABLES = frozenset({"runtime_node"})
BATCH = 500


def reflect(connection: Connection) -> MetaData:
    """The tables the database holds (not the ones this code knows: a dump copies everything)."""
    meta = MetaData()
    meta.reflect(connection)
    return meta


def data_tables(meta: MetaData) -> list[Table]:
    """The tables whose rows a backup carries, parents before children."""
    return [
        table
        for table in meta.sorted_tables
        if table.name != ALEMBIC_TABLE and table.name not in TRANSIENT_TABLES
    ]


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows per table (every table the backup carries)."""
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in data_tables(reflect(connection))
    }


def export_rows(connection: Connection, table: Table) -> Iterator[str]:
    """The table's rows as JSON lines, in primary-key order."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = connection.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
    for row in result.mappings():
        yield json.dumps({key: _plain(value) for key, value in row.items()}, ensure_ascii=False)


def import_rows(connection: Connection, table: Table, lines: Iterable[str]) -> int:
    """Insert JSON lines into ``table``, converting each value to the column's type; return the count."""
    columns = {column.name: column for column in table.columns}
    batch: list[dict[str, Any]] = []
    count = 0
    for line in lines:
        if not line.strip():
            continue
        raw = json.loads(line)
        batch.append({key: _typed(columns[key].type, value) for key, value in raw.items() if key in columns})
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count


def reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Move PostgreSQL's id sequences past the copied rows, so new rows get fresh ids."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, types.Integer):
                continue
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f'SELECT setval(:sequence, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'
                    ),
                    {"sequence": sequence},
                )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        # Every afterflow time is stored in UTC; SQLite hands it back without the zone.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(column_type: types.TypeEngine[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, types.DateTime):
        moment = datetime.fromisoformat(value).astimezone(UTC)
        return moment if column_type.timezone else moment.replace(tzinfo=None)
    if isinstance(column_type, types.Date):
        return date.fromisoformat(value)
    if isinstance(column_type, types.LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, types.Numeric) and not isinstance(column_type, types.Float):
        return Decimal(value) if column_type.asdecimal else float(value)
    if isinstance(column_type, types.Boolean):
        return bool(value)
    return value
