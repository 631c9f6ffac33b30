"""Link every new audit event to its predecessor, inside the flush that inserts it.

A ``before_flush`` listener on every ORM session finds the new `Event` rows, locks the head
of each chain they extend, and fills in ``prev_hash`` and ``hash`` before the INSERT — so no
code path can write an event outside its chain, and an event row is never updated after.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.hashing import chain_of, event_digest
from engine.audit.tables import AuditChain
from engine.store.database import upsert
from engine.store.models import Event


def _new_events(session: Session) -> list[Event]:
    """The events this flush inserts, in the order they were added."""
    found = [obj for obj in session.new if isinstance(obj, Event)]
    return sorted(found, key=lambda obj: inspect(obj).insert_order or 0)


def link_new_events(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """Give each new event its predecessor's hash and its own (the ``before_flush`` hook)."""
    events = _new_events(session)
    if not events:
        return
    by_chain: dict[str, list[Event]] = defaultdict(list)
    for row in events:
        by_chain[chain_of(row.instance_id)].append(row)
    with session.no_autoflush:
        # A fixed order of locks: two transactions extending the same chains cannot deadlock.
        for chain in sorted(by_chain):
            previous = _lock_head(session, chain)
            for row in by_chain[chain]:
                row.prev_hash = previous
                row.hash = event_digest(
                    instance_id=row.instance_id,
                    task_id=row.task_id,
                    element_id=row.element_id,
                    actor=row.actor,
                    action=row.action,
                    at=row.at,
                    data=row.data,
                    prev_hash=previous,
                )
                previous = row.hash
            _pending_heads(session)[chain] = (by_chain[chain][-1], len(by_chain[chain]))


def _lock_head(session: Session, chain: str) -> str | None:
    """Lock the chain's head row for this transaction and return its last hash (None: no events yet)."""
    locked = (
        select(AuditChain.last_hash, AuditChain.length).where(AuditChain.chain == chain).with_for_update()
    )
    row = session.execute(locked).first()
    if row is None:
        session.execute(
            upsert(session, AuditChain)
            .values(chain=chain, last_event_id=0, last_hash="", length=0, updated_at=clock.now())
            .on_conflict_do_nothing()
        )
        row = session.execute(locked).one()
    return row.last_hash if row.length else None


def _pending_heads(session: Session) -> dict[str, tuple[Event, int]]:
    """Heads to move once this flush has given the new events their ids."""
    pending: dict[str, tuple[Event, int]] = session.info.setdefault("audit_pending_heads", {})
    return pending


def move_heads(session: Session, _context: Any = None) -> None:
    """Point each extended chain's head at its new last event (the ``after_flush`` hook)."""
    pending = session.info.pop("audit_pending_heads", None)
    if not pending:
        return
    for chain, (last, added) in pending.items():
        session.execute(
            update(AuditChain)
            .where(AuditChain.chain == chain)
            .values(
                last_event_id=last.id,
                last_hash=last.hash,
                length=AuditChain.length + added,
                updated_at=clock.now(),
            )
            .execution_options(synchronize_session=False)
        )


sa_event.listen(Session, "before_flush", link_new_events)
sa_event.listen(Session, "after_flush", move_heads)
