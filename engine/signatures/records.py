"""Keep signatures with their hash, read a case's signatures, and verify every one of them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine import clock
from engine.audit.hashing import canonical_json, timestamp
from engine.audit.verify import Finding, register_verifier
from engine.signatures.tables import Signature
from engine.store.models import Event, ProcessInstance

CUSTOMER = "customer"
APPROVAL = "approval"


def signature_digest(row: Signature, image: bytes | None) -> str:
    """SHA-256 over the image (if any) and everything the signature attests, as canonical JSON."""
    attested = canonical_json(
        {
            "instance_id": row.instance_id,
            "task_id": row.task_id,
            "element_id": row.element_id,
            "kind": row.kind,
            "field_key": row.field_key,
            "meaning": row.meaning,
            "signer_name": row.signer_name,
            "signer_username": row.signer_username,
            "collected_by": row.collected_by,
            "signed_at": timestamp(row.signed_at),
            "refused": bool(row.refused),
            "refusal_reason": row.refusal_reason,
            "image_sha256": hashlib.sha256(image).hexdigest() if image is not None else None,
            "signed_data": row.signed_data,
        }
    )
    return hashlib.sha256(attested.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignatureRecord:
    """A signature as documents and pages show it (the image is read on its own)."""

    id: int
    kind: str
    element_id: str | None
    field_key: str | None
    meaning: str | None
    signer_name: str
    signer_username: str | None
    collected_by: str
    signed_at: datetime
    refused: bool
    refusal_reason: str | None
    has_image: bool
    sha256: str


def keep_signature(
    session: Session,
    *,
    instance_id: int,
    task_id: str | None,
    element_id: str | None,
    kind: str,
    signer_name: str,
    collected_by: str,
    signed_data: dict[str, Any],
    field_key: str | None = None,
    meaning: str | None = None,
    signer_username: str | None = None,
    image: bytes | None = None,
    refusal_reason: str | None = None,
) -> Signature:
    """Insert one signature (or refusal) with its hash, and the audit event that records it."""
    row = Signature(
        instance_id=instance_id,
        task_id=task_id,
        element_id=element_id,
        kind=kind,
        field_key=field_key,
        meaning=meaning,
        signer_name=signer_name,
        signer_username=signer_username,
        collected_by=collected_by,
        signed_at=clock.now(),
        refused=refusal_reason is not None,
        refusal_reason=refusal_reason,
        image=image,
        signed_data=signed_data,
    )
    row.sha256 = signature_digest(row, image)
    session.add(row)
    session.flush()
    session.add(
        Event(
            instance_id=instance_id,
            task_id=task_id,
            element_id=element_id,
            actor=collected_by,
            action="signature_refused" if row.refused else "signed",
            at=row.signed_at,
            data={
                "signature_id": row.id,
                "kind": kind,
                "field": field_key,
                "meaning": meaning,
                "signer": signer_name,
                "reason": refusal_reason,
                "sha256": row.sha256,
            },
        )
    )
    return row


def signatures_of_case(session: Session, instance_id: int) -> list[SignatureRecord]:
    """Every signature and refusal of a case, oldest first (what documents of the case print)."""
    rows = session.scalars(
        select(Signature)
        .where(Signature.instance_id == instance_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return [
        SignatureRecord(
            id=row.id,
            kind=row.kind,
            element_id=row.element_id,
            field_key=row.field_key,
            meaning=row.meaning,
            signer_name=row.signer_name,
            signer_username=row.signer_username,
            collected_by=row.collected_by,
            signed_at=row.signed_at,
            refused=row.refused,
            refusal_reason=row.refusal_reason,
            has_image=not row.refused and row.kind == CUSTOMER,
            sha256=row.sha256,
        )
        for row in rows
    ]


def signature_image(session: Session, signature_id: int, instance_id: int | None = None) -> bytes | None:
    """The PNG of a drawn signature (None when there is none, or it belongs to another case)."""
    query = select(Signature.image).where(Signature.id == signature_id)
    if instance_id is not None:
        query = query.where(Signature.instance_id == instance_id)
    return session.scalar(query)


@register_verifier
def verify_signatures(session: Session) -> list[Finding]:
    """Recompute every signature's hash from its row and image."""
    numbers = {
        row.id: row.business_number
        for row in session.execute(select(ProcessInstance.id, ProcessInstance.business_number))
    }
    found: list[Finding] = []
    query = select(Signature).options(undefer(Signature.image)).order_by(Signature.id)
    for row in session.scalars(query.execution_options(yield_per=200)):
        if signature_digest(row, row.image) != row.sha256:
            found.append(
                Finding(
                    "signature",
                    f"the {row.kind} signature of {row.signer_name} no longer matches its hash: it was altered",
                    numbers.get(row.instance_id),
                    row.id,
                )
            )
    return found
