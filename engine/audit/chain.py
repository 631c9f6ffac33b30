"""Link every new audit event to its predecessor, inside the flush that inserts it.

A ``before_flush`` listener on every ORM session finds the new `Event` rows, takes the head
of each chain they extend, and fills in ``prev_hash`` and ``hash`` before the INSERT — so no
code path can write an event outside its chain, and an event row is never updated after.

A case's head is kept on the case's row (``ProcessInstance.audit_*``). A transaction that holds
the case row locked (`hold_case`, as every command does) or created it has the head in memory:
the new head becomes attributes of the case and is written by the UPDATE that saves the case,
the last event's id filled in (``before_update``) once the events' INSERT has given them ids —
no statement of its own. Any other writer locks the case row for the head (``SELECT … FOR
UPDATE``) and moves it after the flush. Events of no case keep their head in an `AuditChain`
row, locked and moved the same way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session
from sqlalchemy.orm.attributes import set_committed_value

from engine import clock
from engine.audit.hashing import chain_of, event_digest
from engine.audit.tables import AuditChain
from engine.store.database import upsert
from engine.store.models import Event, ProcessInstance

#: ``session.info`` keys: the cases this transaction holds, and the heads its flush still has to move.
_HELD = "audit_held_cases"
_CASE_IDS = "audit_pending_case_ids"
_HEADS = "audit_pending_heads"


def hold_case(session: Session, instance: ProcessInstance) -> None:
    """Note that this transaction holds ``instance``'s row locked, as just read: its head is current."""
    _held(session)[instance.id] = instance


def _held(session: Session) -> dict[int, ProcessInstance]:
    held: dict[int, ProcessInstance] = session.info.setdefault(_HELD, {})
    return held


def _new_events(session: Session) -> list[Event]:
    """The events this flush inserts, in the order they were added."""
    found = [obj for obj in session.new if isinstance(obj, Event)]
    return sorted(found, key=lambda obj: inspect(obj).insert_order or 0)


def link_new_events(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """Give each new event its predecessor's hash and its own (the ``before_flush`` hook)."""
    events = _new_events(session)
    if not events:
        return
    by_case: dict[int | None, list[Event]] = defaultdict(list)
    for row in events:
        by_case[row.instance_id].append(row)
    held = _held(session)
    with session.no_autoflush:
        # A fixed order of locks: two transactions extending the same chains cannot deadlock.
        for instance_id in sorted(by_case, key=chain_of):
            rows = by_case[instance_id]
            case = held.get(instance_id) if instance_id is not None else None
            if case is not None:
                length = case.audit_length or 0
                last = _link(rows, case.audit_last_hash if length else None)
                case.audit_length, case.audit_last_hash = length + len(rows), last.hash
                session.info.setdefault(_CASE_IDS, {})[instance_id] = last
            else:
                previous, length = _lock_head(session, instance_id)
                last = _link(rows, previous)
                session.info.setdefault(_HEADS, {})[instance_id] = (last, length + len(rows))


def _link(rows: list[Event], previous: str | None) -> Event:
    """Hash ``rows`` in order onto ``previous``; return the last of them."""
    for row in rows:
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
    return rows[-1]


def _lock_head(session: Session, instance_id: int | None) -> tuple[str | None, int]:
    """Lock a chain's head for this transaction: its last hash (None: no events yet) and length."""
    if instance_id is not None:
        case = session.execute(
            select(ProcessInstance.audit_last_hash, ProcessInstance.audit_length)
            .where(ProcessInstance.id == instance_id)
            .with_for_update()
        ).first()
        if case is None or not case.audit_length:
            return None, 0
        return case.audit_last_hash, case.audit_length
    chain = chain_of(None)
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
    return (row.last_hash, row.length) if row.length else (None, 0)


def fill_last_event_id(_mapper: Mapper[Any], _connection: Any, case: ProcessInstance) -> None:
    """Name the case's last event in the UPDATE that saves it (the ``before_update`` hook).

    The events of this flush are inserted before the case's row is updated, so their ids are known.
    """
    session = object_session(case)
    pending = session.info.get(_CASE_IDS) if session is not None else None
    if not pending or case.id not in pending:
        return
    last = pending[case.id]
    if last.id is not None:
        case.audit_last_event_id = last.id
        del pending[case.id]


def move_heads(session: Session, _context: Any = None) -> None:
    """Point each chain not moved with its case at its new last event (the ``after_flush`` hook)."""
    for instance_id, last in session.info.pop(_CASE_IDS, {}).items():
        # The case's row was written before its events had ids: name the last one now.
        _set_case_head(session, instance_id, audit_last_event_id=last.id)
    for instance_id, (last, length) in session.info.pop(_HEADS, {}).items():
        if instance_id is not None:
            _set_case_head(
                session,
                instance_id,
                audit_last_event_id=last.id,
                audit_last_hash=last.hash,
                audit_length=length,
            )
            continue
        session.execute(
            update(AuditChain)
            .where(AuditChain.chain == chain_of(None))
            .values(last_event_id=last.id, last_hash=last.hash, length=length, updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )


def _set_case_head(session: Session, instance_id: int, **head: Any) -> None:
    """Write a case's head columns, and keep the case's object in this session in step with them."""
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(**head)
        .execution_options(synchronize_session=False)
    )
    case = session.identity_map.get(session.identity_key(ProcessInstance, instance_id))
    if case is not None:
        for key, value in head.items():
            set_committed_value(case, key, value)


def _created(session: Session, instance: object) -> None:
    """A case inserted by this transaction is held by it (no other transaction sees it yet)."""
    if isinstance(instance, ProcessInstance):
        _held(session)[instance.id] = instance


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """At the end of the outermost transaction, the cases it held are free again."""
    if transaction.parent is None:
        for key in (_HELD, _CASE_IDS, _HEADS):
            session.info.pop(key, None)


sa_event.listen(Session, "before_flush", link_new_events)
sa_event.listen(Session, "after_flush", move_heads)
sa_event.listen(Session, "pending_to_persistent", _created)
sa_event.listen(Session, "after_transaction_end", _forget)
sa_event.listen(ProcessInstance, "before_update", fill_last_event_id)
