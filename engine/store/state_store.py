"""A case's workflow state in the database: its last snapshot on the case's row, and the changes saved since.

``process_instance.state`` holds the snapshot; ``state_change`` the changes numbered up to the
row's ``state_seq``, ``state_changes`` of them after the snapshot. Every reader of a case's state
reads it here, snapshot and changes together (one statement), never the column alone.

A change is mostly tasks and data the snapshot and the changes before it already spell (task
ids, data keys, element names), so each is zlib-compressed with the last 32 KB of what precedes
it — the snapshot's text followed by the changes' texts — as the dictionary: about half the
bytes of compressing it alone. The changes are therefore read back in order, each with the
text before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, cast, delete, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.store.compressed_text import LEVEL
from engine.store.models import ProcessInstance, StateChange
from engine.store.state_delta import materialize, materialized_document

#: A snapshot is taken again once this many changes follow the last one.
CHANGES_PER_SNAPSHOT = 20
#: zlib's window: only this much of what precedes a change helps compress it.
WINDOW = 32 * 1024


class StateIncomplete(EngineError):
    """The changes a case's row counts are not all stored."""

    code = "state_incomplete"


def next_window(window: bytes, text: str) -> bytes:
    """The dictionary of the change after ``text`` (the last ``WINDOW`` bytes of what precedes it)."""
    # A character is at least one byte: the text's last WINDOW characters hold its last WINDOW bytes.
    return (window + text[-WINDOW:].encode("utf-8"))[-WINDOW:]


def compress_change(text: str, window: bytes) -> bytes:
    """A change's text compressed with the text before it as the dictionary."""
    packer = zlib.compressobj(LEVEL, zdict=window) if window else zlib.compressobj(LEVEL)
    return packer.compress(text.encode("utf-8")) + packer.flush()


def decompress_change(body: bytes, window: bytes) -> str:
    """A change's text back from its stored bytes and the text before it."""
    unpacker = zlib.decompressobj(zdict=window) if window else zlib.decompressobj()
    return (unpacker.decompress(bytes(body)) + unpacker.flush()).decode("utf-8")


def change_texts(snapshot: str, bodies: Iterable[bytes]) -> list[str]:
    """The texts of a snapshot's stored changes, in order."""
    return _read_changes(snapshot, bodies)[0]


def _read_changes(snapshot: str, bodies: Iterable[bytes]) -> tuple[list[str], bytes]:
    """The texts of a snapshot's stored changes, and the dictionary of the change after them."""
    window = next_window(b"", snapshot)
    texts = []
    for body in bodies:
        text = decompress_change(body, window)
        texts.append(text)
        window = next_window(window, text)
    return texts, window


def change_bodies(snapshot: str, texts: Iterable[str]) -> list[bytes]:
    """The stored bytes of a snapshot's changes, in order (what ``change_texts`` reads back)."""
    window = next_window(b"", snapshot)
    bodies = []
    for text in texts:
        bodies.append(compress_change(text, window))
        window = next_window(window, text)
    return bodies


@dataclass(frozen=True)
class StoredState:
    """A case's snapshot and the changes after it (JSON texts), with their stored sizes."""

    snapshot: str
    changes: list[str]
    #: Bytes the snapshot and the changes take stored (compressed).
    snapshot_bytes: int
    change_bytes: int
    #: The dictionary the next change is compressed with.
    window: bytes

    def text(self) -> str:
        """The whole state document's text (the snapshot with the changes applied)."""
        return materialize(self.snapshot, self.changes)

    def document(self) -> dict[str, Any]:
        """The whole state document."""
        return materialized_document(self.snapshot, self.changes)


def read_state(session: Session, instance_id: int, state_seq: int, state_changes: int) -> StoredState:
    """Read a case's snapshot and its changes (numbered after the snapshot, up to ``state_seq``) in one statement."""
    snapshot = select(
        literal(-1).label("seq"),
        ProcessInstance.state.label("body"),
        cast(null(), LargeBinary).label("change"),
        func.length(ProcessInstance.state).label("stored_bytes"),
    ).where(ProcessInstance.id == instance_id)
    rows: Sequence[Any] = session.execute(
        union_all(
            snapshot,
            select(StateChange.seq, cast(null(), LargeBinary), StateChange.body, literal(0)).where(
                StateChange.instance_id == instance_id,
                StateChange.seq > state_seq - state_changes,
                StateChange.seq <= state_seq,
            ),
        ).order_by("seq")
    ).all()
    if not rows or rows[0][0] != -1:
        raise StateIncomplete("the case has no stored state")
    bodies = [bytes(row[2]) for row in rows[1:]]
    if len(bodies) != state_changes:
        raise StateIncomplete(
            f"the case's state counts {state_changes} changes since its snapshot, but {len(bodies)} are stored"
        )
    text = rows[0][1] or ""
    changes, window = _read_changes(text, bodies)
    return StoredState(text, changes, rows[0][3] or 0, sum(len(body) for body in bodies), window)


def stored_state(session: Session, instance: ProcessInstance) -> StoredState:
    """A case's stored state as its row (read in this session) counts it."""
    return read_state(session, instance.id, instance.state_seq, instance.state_changes)


def state_text(session: Session, instance: ProcessInstance) -> str:
    """The whole state document of a case, as a whole save would have written it."""
    return stored_state(session, instance).text()


def write_snapshot(session: Session, instance: ProcessInstance, text: str) -> None:
    """Replace the case's state by a snapshot (the changes it folds in are deleted in the same transaction)."""
    if instance.state_changes:
        session.execute(delete(StateChange).where(StateChange.instance_id == instance.id))
    instance.state = text
    instance.state_seq = (instance.state_seq or 0) + 1
    instance.state_changes = 0


def append_change(session: Session, instance: ProcessInstance, body: bytes) -> None:
    """Add a change (compressed, ``compress_change``) after the case's snapshot and the changes before it."""
    seq = (instance.state_seq or 0) + 1
    session.add(StateChange(instance_id=instance.id, seq=seq, body=body))
    instance.state_seq = seq
    instance.state_changes = (instance.state_changes or 0) + 1
