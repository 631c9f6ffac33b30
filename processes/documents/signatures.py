"""The customer's signature a service voucher prints: the image, the signer's name and when.

Signatures are rows of the ``signature`` table (drawn on the technician's screen, or refused with
a reason). This reads the newest customer signature of a case that was given, not refused, and
hands the template what it shows: ``image`` as an inline ``data:`` URI, ``signer_name``,
``signed_at``, ``collected_by``. With no signature (or no signature table in this schema) it
returns None and the voucher prints an empty line to sign on paper.
"""

from __future__ import annotations

import base64
from datetime import tzinfo
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from engine.store.database import Base
from engine.store.queries import display_names

IMAGE_SIGNATURES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def _data_uri(image: bytes | None) -> str | None:
    for magic, kind in IMAGE_SIGNATURES.items():
        if image and image.startswith(magic):
            return f"data:{kind};base64,{base64.b64encode(image).decode('ascii')}"
    return None


def customer_signature(session: Session, instance_id: int, tz: tzinfo | None = None) -> dict[str, Any] | None:
    """The latest customer signature given on a case, as a template shows it; None when there is none."""
    table = Base.metadata.tables.get("signature")
    if table is None or not {"kind", "refused", "image", "signer_name"} <= set(table.c.keys()):
        return None
    row = session.execute(
        select(table.c.signer_name, table.c.signed_at, table.c.collected_by, table.c.image)
        .where(table.c.instance_id == instance_id, table.c.kind == "customer", table.c.refused == false())
        .order_by(table.c.signed_at.desc(), table.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    signed_at = (
        row.signed_at.astimezone(tz) if tz is not None and row.signed_at is not None else row.signed_at
    )
    collector = display_names(session, [row.collected_by]).get(row.collected_by, row.collected_by)
    return {
        "image": _data_uri(row.image),
        "signer_name": row.signer_name,
        "signed_at": signed_at.strftime("%Y-%m-%d %H:%M") if signed_at is not None else "",
        "collected_by": collector,
    }
