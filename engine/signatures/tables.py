"""The signature table: one row per signature given, or refused, on one step of a case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class Signature(Base):
    """A signature on a step of a case: who signed what, when, collected by whom, and its hash.

    ``kind`` is ``customer`` (drawn on a screen, ``image`` is the PNG; or refused, with a
    reason) or ``approval`` (a user who re-entered their password; ``meaning`` says what the
    signature means, such as 批准). ``sha256`` covers the image and ``signed_data``.
    """

    __tablename__ = "signature"
    __table_args__ = (Index("ix_signature_instance", "instance_id", "signed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    field_key: Mapped[str | None] = mapped_column(String(128))
    meaning: Mapped[str | None] = mapped_column(String(32))
    signer_name: Mapped[str] = mapped_column(String(128))
    signer_username: Mapped[str | None] = mapped_column(String(64))
    collected_by: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    # Deferred: lists of signatures must not read every image.
    image: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    signed_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
