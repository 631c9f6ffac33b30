"""Customers' notices (optional per company): "received", "technician on the way", "completed — please
rate us", each with the case's private status link, by e-mail or through an SMS gateway.

``notify_customer`` is called inside the transaction that moved the case, like every notification:
the notice exists exactly when the change does. Which channels a company uses is a setting its
administrators change (``processes/notifications/settings.py``); none by default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.outbox.models import Notification
from engine.store.models import ProcessInstance
from processes.notifications.settings import CUSTOMER_CHANNELS, customer_notices

__all__ = ["CUSTOMER_CHANNELS", "STAGES", "CustomerContact", "notify_customer"]

STAGES = ("received", "on_the_way", "completed")
#: Case-data keys that may hold how to reach the customer: an e-mail address or a mobile number.
CONTACT_KEYS = ("customer_email", "contact_email", "customer_phone", "contact_phone")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A mainland mobile number (a text message can reach it; a landline cannot).
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")


@dataclass(frozen=True)
class CustomerContact:
    """How to reach the customer of a case."""

    email: str | None = None
    phone: str | None = None
    language: str = "zh"


def contact_in(data: Mapping[str, Any], language: str = "zh") -> CustomerContact:
    """How the customer of a case can be reached, from what its data holds: the first e-mail address and
    the first mobile number among ``CONTACT_KEYS`` (a landline number reaches nobody by text)."""
    email = phone = None
    for key in CONTACT_KEYS:
        value = data.get(key)
        if not isinstance(value, str):
            continue
        text = value.strip()
        digits = re.sub(r"[\s()-]", "", text)
        if email is None and _EMAIL.match(text):
            email = text
        elif phone is None and _MOBILE.match(digits):
            phone = digits
    return CustomerContact(email=email, phone=phone, language=language)


def notify_customer(
    session: Session,
    case: ProcessInstance,
    stage: str,
    status_link: Callable[[ProcessInstance], str],
    contact: CustomerContact,
    channels: Iterable[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Queue the customer's notice of ``stage`` on the company's channels; return how many were queued.

    Each stage is told once per case and address, however often this is called. ``extra`` adds to
    what the wording may use (the technician's name, where the company allows it).
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
    chosen = customer_notices(session).channels if channels is None else tuple(channels)
    targets = []
    if "email" in chosen and contact.email:
        targets.append(("customer_email", contact.email.strip()))
    if "sms" in chosen and contact.phone:
        targets.append(("customer_sms", contact.phone.strip()))
    key = f"customer:{case.id}:{stage}"
    known = set(
        session.execute(
            select(Notification.recipient, Notification.medium).where(Notification.event_key == key)
        )
    )
    now = clock.now()
    params = {
        "instance_id": case.id,
        "business_number": case.business_number,
        "link": status_link(case),
        "language": "en" if contact.language == "en" else "zh",
        **(extra or {}),
    }
    added = 0
    for channel, address in targets:
        if (address, channel) in known:
            continue
        session.add(
            Notification(
                event_key=key,
                kind=f"customer_{stage}",
                recipient=address,
                medium=channel,
                instance_id=case.id,
                params=params,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    return added
