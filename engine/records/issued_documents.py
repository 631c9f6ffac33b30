"""Issued documents: kept as issued — immutable bytes, a number, a SHA-256, who issued it and when.

There is no command that changes or removes an issued document: issuing the same document again
writes a new version beside the old one, and only a retention purge (``engine.records.retention``)
takes a document out, leaving a signed tombstone. ``verify_documents`` re-hashes every stored
document and names those whose bytes no longer match the hash recorded when they were issued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import NotFound
from engine.records.models import IssuedDocument
from engine.records.templates import TemplateVersion
from engine.store.models import Event, ProcessInstance

NUMBER_PREFIX = "DOC"
PDF = "application/pdf"


@dataclass(frozen=True)
class DocumentProblem:
    """A document whose stored bytes do not match its recorded hash, or whose row is gone."""

    number: str
    business_number: str
    recorded_sha256: str
    #: What the stored bytes hash to; None when the document's row was deleted.
    actual_sha256: str | None

    def __str__(self) -> str:
        if self.actual_sha256 is None:
            return (
                f"issued document {self.number} of {self.business_number} was deleted: the audit trail "
                f"records its issue (SHA-256 {self.recorded_sha256}) but no such document is stored"
            )
        return (
            f"issued document {self.number} of {self.business_number} was altered: "
            f"recorded SHA-256 {self.recorded_sha256}, stored bytes hash to {self.actual_sha256}"
        )


def issue_document(
    session: Session,
    instance: ProcessInstance,
    kind: str,
    title: str,
    render: Callable[[str, int, datetime], bytes],
    issued_by: str,
    tz: tzinfo,
    subject: str = "",
    template: TemplateVersion | None = None,
    content_type: str = PDF,
) -> IssuedDocument:
    """Number a document, make its bytes (``render(number, version, issued_at)``), keep and audit it.

    The document is the next version of its kind (and subject) on the case; earlier versions stay.
    """
    # Imported here: this module is loaded with the tables (audit verify checks documents), before
    # the runtime package exists.
    from engine.runtime.business_numbers import next_business_number

    now = clock.now()
    version = (
        session.scalar(
            select(func.max(IssuedDocument.version)).where(
                IssuedDocument.business_number == instance.business_number,
                IssuedDocument.kind == kind,
                IssuedDocument.subject == subject,
            )
        )
        or 0
    ) + 1
    number = next_business_number(session, NUMBER_PREFIX, now, tz)
    content = render(number, version, now)
    digest = hashlib.sha256(content).hexdigest()
    document = IssuedDocument(
        number=number,
        instance_id=instance.id,
        business_number=instance.business_number,
        kind=kind,
        subject=subject,
        version=version,
        title=title,
        filename=f"{number}.pdf" if content_type == PDF else number,
        content_type=content_type,
        size=len(content),
        sha256=digest,
        content=content,
        template_name=template.name if template else None,
        template_version=template.version if template else None,
        template_sha256=template.sha256 if template else None,
        issued_by=issued_by,
        issued_at=now,
    )
    session.add(document)
    session.flush()
    _audit_issue(session, document, template)
    return document


def _audit_issue(session: Session, document: IssuedDocument, template: TemplateVersion | None) -> None:
    session.add(
        Event(
            instance_id=document.instance_id,
            actor=document.issued_by,
            action="document_issued",
            at=document.issued_at,
            data={
                "document_id": document.id,
                "number": document.number,
                "kind": document.kind,
                "subject": document.subject,
                "version": document.version,
                "sha256": document.sha256,
                "template": f"{template.name} v{template.version}" if template else None,
            },
        )
    )


def documents_of(session: Session, instance_id: int) -> list[IssuedDocument]:
    """The documents issued on a case, oldest first (their bytes are not read)."""
    return list(
        session.scalars(
            select(IssuedDocument)
            .where(IssuedDocument.instance_id == instance_id)
            .order_by(IssuedDocument.issued_at, IssuedDocument.id)
        )
    )


def document_by_number(session: Session, number: str) -> IssuedDocument:
    """One issued document with its bytes."""
    document = session.scalar(select(IssuedDocument).where(IssuedDocument.number == number))
    if document is None:
        raise NotFound("no such document")
    return document


def _stored(session: Session, business_number: str | None) -> Iterator[tuple[str, str, str, bytes]]:
    query = select(
        IssuedDocument.number, IssuedDocument.business_number, IssuedDocument.sha256, IssuedDocument.content
    ).order_by(IssuedDocument.id)
    if business_number:
        query = query.where(IssuedDocument.business_number == business_number)
    # One document's bytes at a time: verifying a large archive must not hold it all in memory.
    for row in session.execute(query.execution_options(yield_per=50)):
        yield row[0], row[1], row[2], row[3]


def _missing(session: Session, business_number: str | None, stored: set[str]) -> list[DocumentProblem]:
    """Documents the audit trail says were issued that are no longer stored."""
    query = select(Event.data, ProcessInstance.business_number).join(
        ProcessInstance, Event.instance_id == ProcessInstance.id
    )
    query = query.where(Event.action == "document_issued").order_by(Event.id)
    if business_number:
        query = query.where(ProcessInstance.business_number == business_number)
    problems = []
    for data, case_number in session.execute(query):
        number = (data or {}).get("number")
        if isinstance(number, str) and number not in stored:
            problems.append(DocumentProblem(number, case_number, str((data or {}).get("sha256")), None))
    return problems


def verify_documents(
    session: Session, business_number: str | None = None
) -> tuple[int, list[DocumentProblem]]:
    """Re-hash every stored document (or one case's), and find issued ones no longer stored.

    Return how many stored documents were checked and the problems, altered ones first.
    """
    checked = 0
    problems: list[DocumentProblem] = []
    stored: set[str] = set()
    for number, case_number, recorded, content in _stored(session, business_number):
        checked += 1
        stored.add(number)
        actual = hashlib.sha256(content).hexdigest()
        if actual != recorded:
            problems.append(DocumentProblem(number, case_number, recorded, actual))
    return checked, problems + _missing(session, business_number, stored)
