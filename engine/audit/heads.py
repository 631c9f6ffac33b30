"""Where each chain's head is kept: a case's on its row, the chain of no case in `AuditChain`."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.hashing import chain_of
from engine.audit.tables import AuditChain
from engine.store.models import ProcessInstance


class Head(NamedTuple):
    """The last event of one chain (its id and hash) and how many events the chain has."""

    last_event_id: int
    last_hash: str
    length: int


def chain_heads(session: Session, instance_id: int | None = None) -> dict[str, Head]:
    """The head of every chain that has events (or of the chain of one case), by chain name.

    `AuditChain` rows of cases are heads written before cases kept their own; a case's row wins.
    """
    chains = select(AuditChain.chain, AuditChain.last_event_id, AuditChain.last_hash, AuditChain.length)
    cases = select(
        ProcessInstance.id,
        ProcessInstance.audit_last_event_id,
        ProcessInstance.audit_last_hash,
        ProcessInstance.audit_length,
    ).where(ProcessInstance.audit_length > 0)
    if instance_id is not None:
        chains = chains.where(AuditChain.chain == chain_of(instance_id))
        cases = cases.where(ProcessInstance.id == instance_id)
    heads = {row.chain: Head(row.last_event_id, row.last_hash, row.length) for row in session.execute(chains)}
    for case_id, event_id, digest, length in session.execute(cases):
        heads[chain_of(case_id)] = Head(event_id or 0, digest or "", length)
    return heads
