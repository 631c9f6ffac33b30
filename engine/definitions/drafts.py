"""Drafts: each process owner's own edit of a process, kept on the server until deployed or discarded.

One draft per process key and author; saving replaces the author's own draft and never another
person's. A draft holds the same kind of files a deployed version does (``name → text``), the
version it was started from and when it was started. While the editor is open it sends a
heartbeat (``seen_at``), so others see who is editing the same process and when they saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.definitions import MAX_FILE_BYTES
from engine.errors import EngineError
from engine.store.models import DefinitionDraft, ProcessDefinition

#: A draft holds one process's files: a handful, never megabytes each.
MAX_DRAFT_FILES = 200
#: An editor whose heartbeat is older than this is no longer open.
PRESENCE_WINDOW = timedelta(seconds=90)


@dataclass(frozen=True)
class Draft:
    """A saved draft as callers see it (detached from the session)."""

    process_key: str
    files: dict[str, str]
    base_version: int | None
    author: str
    updated_at: datetime
    started_at: datetime
    seen_at: datetime | None

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether the author's editor sent a heartbeat within the presence window."""
        return self.seen_at is not None and (now or clock.now()) - self.seen_at <= PRESENCE_WINDOW


@dataclass(frozen=True)
class NewerVersion:
    """A version of the process deployed after a draft was started."""

    version: int
    deployed_by: str | None
    deployed_at: datetime


def save_draft(
    sessions: sessionmaker[Session],
    process_key: str,
    files: Mapping[str, str],
    author: str,
    base_version: int | None = None,
) -> Draft:
    """Store ``files`` as ``author``'s draft of ``process_key`` (replacing only their earlier one)."""
    _check_files(files)
    now = clock.now()
    with sessions.begin() as session:
        row = session.scalar(_mine(process_key, author).with_for_update())
        if row is None or not row.files:  # none yet, or only an open editor's heartbeat
            if row is None:
                row = DefinitionDraft(process_key=process_key, author=author)
                session.add(row)
            row.started_at = now
            row.base_version = base_version
        elif base_version is not None:
            row.base_version = base_version
        row.files = dict(files)
        row.updated_at = now
        row.seen_at = now
        session.flush()
        return _as_draft(row)


def load_draft(sessions: sessionmaker[Session], process_key: str, author: str) -> Draft | None:
    """Return ``author``'s draft of ``process_key``, or None."""
    with sessions() as session:
        row = session.scalar(_mine(process_key, author))
        return _as_draft(row) if row is not None and row.files else None


def drafts_of(sessions: sessionmaker[Session], process_key: str) -> list[Draft]:
    """Every author's draft of ``process_key``, the latest saved first."""
    with sessions() as session:
        rows = session.scalars(
            select(DefinitionDraft)
            .where(DefinitionDraft.process_key == process_key)
            .order_by(DefinitionDraft.updated_at.desc(), DefinitionDraft.author)
        )
        return [_as_draft(row) for row in rows if row.files]


def viewers_of(sessions: sessionmaker[Session], process_key: str) -> list[Draft]:
    """Those whose editor of ``process_key`` is open without a saved draft (no files, no save time)."""
    now = clock.now()
    with sessions() as session:
        rows = session.scalars(
            select(DefinitionDraft)
            .where(DefinitionDraft.process_key == process_key)
            .order_by(DefinitionDraft.author)
        )
        return [d for d in (_as_draft(row) for row in rows if not row.files) if d.is_open(now)]


def heartbeat(sessions: sessionmaker[Session], process_key: str, author: str) -> bool:
    """Note that ``author``'s editor of ``process_key`` is open; False when they have no draft.

    Without a draft, the open editor is kept as a row with no files: others see it, no one
    loads it as a draft, and the author's first save turns it into their draft.
    """
    now = clock.now()
    with sessions.begin() as session:
        row = session.scalar(_mine(process_key, author))
        if row is None:
            row = DefinitionDraft(process_key=process_key, author=author, files={}, started_at=now)
            row.updated_at = now
            session.add(row)
        row.seen_at = now
        return bool(row.files)


def discard_draft(sessions: sessionmaker[Session], process_key: str, author: str) -> bool:
    """Delete ``author``'s draft of ``process_key``; return whether there was one."""
    with sessions.begin() as session:
        result = session.execute(
            delete(DefinitionDraft).where(
                DefinitionDraft.process_key == process_key, DefinitionDraft.author == author
            )
        )
        return bool(getattr(result, "rowcount", 0))


def newer_versions(sessions: sessionmaker[Session], draft: Draft) -> list[NewerVersion]:
    """The versions of the draft's process deployed after the draft was started, oldest first."""
    with sessions() as session:
        rows = session.execute(
            select(ProcessDefinition.version, ProcessDefinition.deployed_by, ProcessDefinition.deployed_at)
            .where(
                ProcessDefinition.process_key == draft.process_key,
                ProcessDefinition.deployed_at > draft.started_at,
            )
            .order_by(ProcessDefinition.version)
        ).all()
    return [NewerVersion(version, by, at) for version, by, at in rows]


def _mine(process_key: str, author: str):  # type: ignore[no-untyped-def]
    return select(DefinitionDraft).where(
        DefinitionDraft.process_key == process_key, DefinitionDraft.author == author
    )


def _check_files(files: Mapping[str, str]) -> None:
    if len(files) > MAX_DRAFT_FILES:
        raise EngineError(f"a draft holds at most {MAX_DRAFT_FILES} files")
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str) or not name or "/" in name or "\\" in name:
            raise EngineError(f"'{name}' is not a file name a draft can hold")
        if len(text.encode()) > MAX_FILE_BYTES:
            raise EngineError(f"{name} is larger than 5 MB")


def _as_draft(row: DefinitionDraft) -> Draft:
    return Draft(
        row.process_key,
        dict(row.files),
        row.base_version,
        row.author,
        row.updated_at,
        row.started_at,
        row.seen_at,
    )
