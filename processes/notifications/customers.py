"""Customers' notices (optional per company): "received", "technician on the way", "completed — please
rate us", each with the case's private status link, by e-mail or through an SMS gateway.

``notify_customer`` is called inside the transaction that moved the case, like every notification:
the notice exists exactly when the change does. Which channels a company uses is a setting
(``AFTERFLOW_CUSTOMER_NOTICES=email,sms``); none by default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.outbox.models import Notification
from engine.store.models import ProcessInstance

STAGES = ("received", "on_the_way", "completed")
CUSTOMER_CHANNELS = {"email": "customer_email", "sms": "customer_sms"}


@dataclass(frozen=True)
class CustomerContact:
    """How to reach the customer of a case."""

    email: str | None = None
    phone: str | None = None
    language: str = "zh"


def customer_channels_from_environ() -> tuple[str, ...]:
    """The customer channels this company uses (``AFTERFLOW_CUSTOMER_NOTICES``)."""
    chosen = os.environ.get("AFTERFLOW_CUSTOMER_NOTICES", "")
    return tuple(c for c in (p.strip().lower() for p in chosen.split(",")) if c in CUSTOMER_CHANNELS)


def notify_customer(
    session: Session,
    case: ProcessInstance,
    stage: str,
    status_link: Callable[[ProcessInstance], str],
    contact: CustomerContact,
    channels: Iterable[str] | None = None,
) -> int:
    """Queue the customer's notice of ``stage`` on the company's channels; return how many were queued.

    Each stage is told once per case and address, however often this is called.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
    chosen = customer_channels_from_environ() if channels is None else tuple(channels)
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
