"""A case's workflow state in the database: its last snapshot on the case's row, and the changes saved since.

``process_instance.state`` holds the snapshot; ``state_change`` the changes numbered up to the
row's ``state_seq``, ``state_changes`` of them after the snapshot. Every reader of a case's state
reads it here, snapshot and changes together (one statement), never the column alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, literal, select, union_all
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.store.models import ProcessInstance, StateChange
from engine.store.state_delta import materialize, materialized_document

#: A snapshot is taken again once this many changes follow the last one.
CHANGES_PER_SNAPSHOT = 20


class StateIncomplete(EngineError):
    """The changes a case's row counts are not all stored."""

    code = "state_incomplete"


@dataclass(frozen=True)
class StoredState:
    """A case's snapshot and the changes after it, as stored (JSON texts)."""

    snapshot: str
    changes: list[str]

    def text(self) -> str:
        """The whole state document's text (the snapshot with the changes applied)."""
        return materialize(self.snapshot, self.changes)

    def document(self) -> dict[str, Any]:
        """The whole state document."""
        return materialized_document(self.snapshot, self.changes)

    @property
    def change_bytes(self) -> int:
        return sum(len(text) for text in self.changes)


def read_state(session: Session, instance_id: int, state_seq: int, state_changes: int) -> StoredState:
    """Read a case's snapshot and its changes (numbered after the snapshot, up to ``state_seq``) in one statement."""
    snapshot = select(literal(-1).label("seq"), ProcessInstance.state.label("body")).where(
        ProcessInstance.id == instance_id
    )
    rows = session.execute(
        union_all(
            snapshot,
            select(StateChange.seq, StateChange.body).where(
                StateChange.instance_id == instance_id,
                StateChange.seq > state_seq - state_changes,
                StateChange.seq <= state_seq,
            ),
        ).order_by("seq")
    ).all()
    if not rows or rows[0][0] != -1:
        raise StateIncomplete("the case has no stored state")
    changes = [row[1] for row in rows[1:]]
    if len(changes) != state_changes:
        raise StateIncomplete(
            f"the case's state counts {state_changes} changes since its snapshot, but {len(changes)} are stored"
        )
    return StoredState(rows[0][1], changes)


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


def append_change(session: Session, instance: ProcessInstance, text: str) -> None:
    """Add a change after the case's snapshot and the changes before it (written with the case's row)."""
    seq = (instance.state_seq or 0) + 1
    session.add(StateChange(instance_id=instance.id, seq=seq, body=text))
    instance.state_seq = seq
    instance.state_changes = (instance.state_changes or 0) + 1
