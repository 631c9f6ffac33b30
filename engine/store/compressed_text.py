"""Text kept zlib-compressed in a binary column: the workflow state of a case.

Python sees ``str``; the database holds the UTF-8 bytes compressed. A case's state is JSON
of a few to some tens of kilobytes rewritten by every command, and each old copy stays in
the table until vacuum: compressed, a finished repair case's 27 KB state is 4.8 KB (level 4:
about 0.1 ms to compress and 0.03 ms to read back). PostgreSQL is told not to compress the
column again (``STORAGE EXTERNAL``, migration 0029).

A value that is not a zlib stream (text written before the column was compressed, say by a
restore into an older schema) is read as UTF-8 text as it stands.
"""

from __future__ import annotations

import zlib

from sqlalchemy import LargeBinary, TypeDecorator
from sqlalchemy.engine import Dialect

#: zlib's level: 4 is where size stops falling faster than the time rises on a case's state.
LEVEL = 4
#: The first byte of a zlib stream with the default window (``0x78``); JSON never starts with it.
_ZLIB_HEADER = 0x78


def compress_text(value: str) -> bytes:
    """The UTF-8 bytes of ``value``, zlib-compressed."""
    return zlib.compress(value.encode("utf-8"), LEVEL)


def decompress_text(stored: bytes | bytearray | memoryview | str) -> str:
    """Text back from what the column holds (a zlib stream, or UTF-8 text stored before compression)."""
    if isinstance(stored, str):
        return stored
    raw = bytes(stored)
    if raw[:1] and raw[0] == _ZLIB_HEADER:
        return zlib.decompress(raw).decode("utf-8")
    return raw.decode("utf-8")


class CompressedText(TypeDecorator[str]):
    """``str`` in Python, zlib-compressed UTF-8 in a binary column."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else compress_text(value)

    def process_result_value(self, value: bytes | str | None, dialect: Dialect) -> str | None:
        return None if value is None else decompress_text(value)
