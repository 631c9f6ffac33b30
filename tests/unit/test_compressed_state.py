"""A case's state is stored zlib-compressed and read back as exactly the text that was saved."""

from __future__ import annotations

import json
import zlib

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from engine.store.compressed_text import CompressedText, compress_text, decompress_text
from engine.store.models import ProcessInstance
from engine.store.state_store import WINDOW, next_window


def state_text() -> str:
    """JSON shaped like a workflow state: repeated task records, Chinese case data, escapes."""
    tasks = {
        f"{n:08x}-0000-4000-8000-{n:012x}": {
            "id": f"{n:08x}-0000-4000-8000-{n:012x}",
            "task_spec": f"Activity_{n % 17}",
            "state": 64 if n % 3 else 16,
            "last_state_change": 1765100000.0 + n / 7,
            "data": {"customer_name": "华东人民医院", "note": f'第 {n} 步\n"引号"', "amount": n * 1.5},
        }
        for n in range(120)
    }
    return json.dumps({"data": {"customer_name": "华东人民医院"}, "tasks": tasks}, separators=(",", ":"))


def test_the_column_stores_compressed_bytes_and_reads_back_the_exact_text() -> None:
    value = state_text()
    table = Table(
        "kept", MetaData(), Column("id", Integer, primary_key=True), Column("state", CompressedText)
    )
    db = create_engine("sqlite://")
    with db.begin() as connection:
        table.create(connection)
        connection.execute(insert(table).values(id=1, state=value))
        stored = connection.execute(text("SELECT state FROM kept")).scalar_one()
        read = connection.execute(select(table.c.state)).scalar_one()
    assert isinstance(stored, bytes)
    assert len(stored) * 3 < len(value.encode("utf-8"))
    assert zlib.decompress(stored).decode("utf-8") == value
    assert read == value


def test_the_case_state_column_is_the_compressed_type() -> None:
    assert isinstance(ProcessInstance.__table__.c.state.type, CompressedText)


def test_text_stored_before_compression_reads_as_it_stands() -> None:
    value = state_text()
    assert decompress_text(value) == value
    assert decompress_text(value.encode("utf-8")) == value
    assert decompress_text(memoryview(compress_text(value))) == value
    assert decompress_text(compress_text("")) == ""


def test_a_changes_dictionary_is_the_last_window_of_bytes_before_it_whatever_the_characters() -> None:
    mixed = state_text() * 3  # longer than the window, Chinese (three bytes a character) and ASCII mixed
    window = b"\x00" * 100
    for change in (mixed, mixed[:500], "", "华" * (WINDOW - 1)):
        assert next_window(window, change) == (window + change.encode("utf-8"))[-WINDOW:]
    assert len(next_window(b"", mixed)) == WINDOW
