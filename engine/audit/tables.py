"""The audit trail's own tables: the head of the chain of no case and the sealed daily anchors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class AuditChain(Base):
    """The last event of the chain of no case: where the next event links on, what a verifier expects last.

    Writers lock this row (``FOR UPDATE``) while they append, so two transactions never link
    to the same predecessor. A case keeps its head on its own row (``ProcessInstance.audit_*``);
    a ``case:<id>`` row here is the head of a case that was gone when the heads moved there.
    """

    __tablename__ = "audit_chain"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditDayHead(Base):
    """A closed day (UTC), anchored: a hash over the last event of every chain that moved that day."""

    __tablename__ = "audit_day_head"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    chains: Mapped[int] = mapped_column(Integer)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime())
