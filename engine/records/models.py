"""Tables of the kept records: issued documents, their templates, retention policy, legal holds, tombstones.

An issued document and a template version are written once and never updated: a re-issue or an
edit is a new row with the next version number. Rows leave the database only through a purge,
which writes a tombstone signed with the installation's secret key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class DocumentTemplate(Base):
    """One saved version of a document template; the newest version of a name is the one in use."""

    __tablename__ = "document_template"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    saved_by: Mapped[str | None] = mapped_column(String(64))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    change_summary: Mapped[str | None] = mapped_column(Text)


class IssuedDocument(Base):
    """A document as it was issued: its bytes, number, hash, who issued it and when."""

    __tablename__ = "issued_document"
    __table_args__ = (UniqueConstraint("business_number", "kind", "subject", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(96), unique=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_number: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    #: What the document is about within its case (a recall notice: the customer); "" when one per case.
    subject: Mapped[str] = mapped_column(String(256), default="")
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(256))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: the case page lists documents without reading their bytes.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    template_name: Mapped[str | None] = mapped_column(String(64))
    template_version: Mapped[int | None] = mapped_column(Integer)
    template_sha256: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RetentionPolicy(Base):
    """How long one kind of record is kept: years after it closes, or a margin past the product's expiry."""

    __tablename__ = "retention_policy"
    __table_args__ = (UniqueConstraint("record_kind", "process_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "case", "document", "signature" or "attachment".
    record_kind: Mapped[str] = mapped_column(String(32))
    #: The process the rule is for; "" for every process without a rule of its own.
    process_key: Mapped[str] = mapped_column(String(128), default="")
    years: Mapped[int] = mapped_column(Integer)
    #: Keep at least this many years past the product's expiry, when the record names a product.
    years_past_expiry: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(256))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LegalHold(Base):
    """A case that must not be purged, whatever its retention says, until the hold is released."""

    __tablename__ = "legal_hold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_number: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    release_reason: Mapped[str | None] = mapped_column(Text)


class PurgeTombstone(Base):
    """What a purge removed, signed (HMAC-SHA256 with the secret key) so nobody can rewrite it."""

    __tablename__ = "purge_tombstone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_number: Mapped[str] = mapped_column(String(32), index=True)
    purged_by: Mapped[str] = mapped_column(String(64))
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The purged records: kinds, ids, hashes, the policy that made each due.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(64))


# Issued documents are checked by ``afterflow audit verify`` with the audit trail.
from engine.records import verification as _verification  # noqa: E402, F401
