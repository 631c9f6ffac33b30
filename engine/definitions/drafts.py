"""Drafts: a process owner's edit of a process kept on the server until deployed or discarded.

One draft per process key; saving replaces it. A draft holds the same kind of files a
deployed version does (``name → text``) and the version it was started from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.definitions import MAX_FILE_BYTES
from engine.errors import EngineError
from engine.store.models import DefinitionDraft

#: A draft holds one process's files: a handful, never megabytes each.
MAX_DRAFT_FILES = 200


@dataclass(frozen=True)
class Draft:
    """A saved draft as callers see it (detached from the session)."""

    process_key: str
    files: dict[str, str]
    base_version: int | None
    author: str
    updated_at: datetime


def save_draft(
    sessions: sessionmaker[Session],
    process_key: str,
    files: Mapping[str, str],
    author: str,
    base_version: int | None = None,
) -> Draft:
    """Store ``files`` as the draft of ``process_key`` (replacing any earlier draft)."""
    _check_files(files)
    with sessions.begin() as session:
        row = session.scalar(
            select(DefinitionDraft).where(DefinitionDraft.process_key == process_key).with_for_update()
        )
        if row is None:
            row = DefinitionDraft(process_key=process_key)
            session.add(row)
        row.files = dict(files)
        row.base_version = base_version
        row.author = author
        row.updated_at = clock.now()
        session.flush()
        return _as_draft(row)


def load_draft(sessions: sessionmaker[Session], process_key: str) -> Draft | None:
    """Return the draft of ``process_key``, or None."""
    with sessions() as session:
        row = session.scalar(select(DefinitionDraft).where(DefinitionDraft.process_key == process_key))
        return _as_draft(row) if row is not None else None


def discard_draft(sessions: sessionmaker[Session], process_key: str) -> bool:
    """Delete the draft of ``process_key``; return whether there was one."""
    with sessions.begin() as session:
        result = session.execute(delete(DefinitionDraft).where(DefinitionDraft.process_key == process_key))
        return bool(getattr(result, "rowcount", 0))


def _check_files(files: Mapping[str, str]) -> None:
    if len(files) > MAX_DRAFT_FILES:
        raise EngineError(f"a draft holds at most {MAX_DRAFT_FILES} files")
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str) or not name or "/" in name or "\\" in name:
            raise EngineError(f"'{name}' is not a file name a draft can hold")
        if len(text.encode()) > MAX_FILE_BYTES:
            raise EngineError(f"{name} is larger than 5 MB")


def _as_draft(row: DefinitionDraft) -> Draft:
    return Draft(row.process_key, dict(row.files), row.base_version, row.author, row.updated_at)
