"""The webhook outbox: case events become deliveries in the database, then are sent with retries.

Deliveries are written from the audit trail (``event``) and the SLA breaches after the commands
that made them committed, so a command never waits on a receiver and an event is never sent for
work that was rolled back. Each delivery is sent until the receiver answers 2xx, with a growing
pause between attempts, and gives up after ``MAX_ATTEMPTS``; the rows are the delivery log.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.errors import EngineError
from engine.store.models import Event, ProcessInstance, SlaBreach, Task
from engine.webhooks.models import WebhookDelivery, WebhookSubscription
from engine.webhooks.signing import HEADER, sign

#: The event types a subscription may choose, and the audit action each stands for.
EVENT_TYPES = {
    "case.started": "instance_started",
    "task.completed": "task_completed",
    "case.completed": "instance_completed",
    "case.breached": "",  # from the sla_breach table
}
MAX_ATTEMPTS = 10
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)
MAX_URL = 2000
LEASE = timedelta(minutes=2)


class WebhookInvalid(EngineError):
    """The subscription's URL or events are not acceptable."""

    code = "webhook_invalid"


def subscribe(session: Session, url: str, events: Iterable[str], created_by: str) -> WebhookSubscription:
    """Subscribe a URL to case events from now on; its secret is generated here."""
    url = url.strip()
    chosen = sorted(set(events))
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise WebhookInvalid("the URL must start with http:// or https://")
    if not chosen or not set(chosen) <= set(EVENT_TYPES):
        raise WebhookInvalid(f"choose events among {', '.join(EVENT_TYPES)}")
    subscription = WebhookSubscription(
        url=url,
        secret="whsec_" + secrets.token_urlsafe(32),
        events=chosen,
        active=True,
        created_by=created_by,
        created_at=clock.now(),
        # Only what happens from now on: a new receiver is not flooded with the past.
        last_event_id=session.scalar(select(func.max(Event.id))) or 0,
        last_breach_id=session.scalar(select(func.max(SlaBreach.id))) or 0,
    )
    session.add(subscription)
    session.flush()
    return subscription


def enqueue(session: Session) -> int:
    """Put the case events committed since the last call into the outbox; return how many."""
    added = 0
    now = clock.now()
    for subscription in session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    ):
        actions = {EVENT_TYPES[e]: e for e in subscription.events if EVENT_TYPES.get(e)}
        # Read the newest id first: events committed while we read are left for the next call.
        newest = session.scalar(select(func.max(Event.id))) or 0
        events = list(
            session.scalars(
                select(Event)
                .where(
                    Event.id > subscription.last_event_id,
                    Event.id <= newest,
                    Event.action.in_(sorted(actions)),
                )
                .order_by(Event.id)
            )
        )
        for event in events:
            body = _event_body(session, actions[event.action], event)
            added += _add(session, subscription, f"event:{event.id}", actions[event.action], body, now)
        subscription.last_event_id = max(subscription.last_event_id, newest)
        if "case.breached" in subscription.events:
            breaches = list(
                session.scalars(
                    select(SlaBreach).where(SlaBreach.id > subscription.last_breach_id).order_by(SlaBreach.id)
                )
            )
            for breach in breaches:
                body = _breach_body(session, breach)
                added += _add(session, subscription, f"breach:{breach.id}", "case.breached", body, now)
                subscription.last_breach_id = breach.id
    return added


def _add(
    session: Session,
    subscription: WebhookSubscription,
    key: str,
    kind: str,
    body: dict[str, Any],
    now: datetime,
) -> int:
    session.add(
        WebhookDelivery(
            subscription_id=subscription.id,
            event_key=key,
            event_type=kind,
            body=json.dumps({"id": key, "type": kind, **body}, ensure_ascii=False, sort_keys=True),
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return 1


def _case(session: Session, instance_id: int | None) -> dict[str, Any]:
    instance = session.get(ProcessInstance, instance_id) if instance_id is not None else None
    if instance is None:
        return {}
    return {
        "id": instance.id,
        "business_number": instance.business_number,
        "process_key": instance.process_key,
        "status": instance.status,
    }


def _event_body(session: Session, kind: str, event: Event) -> dict[str, Any]:
    body: dict[str, Any] = {
        "occurred_at": event.at.isoformat(),
        "actor": event.actor,
        "case": _case(session, event.instance_id),
    }
    if kind == "task.completed" and event.task_id:
        task = session.get(Task, event.task_id)
        body["task"] = {
            "id": event.task_id,
            "spec_id": event.element_id,
            "name": task.name if task else None,
            "data": (event.data or {}).get("data", {}),
        }
    return body


def _breach_body(session: Session, breach: SlaBreach) -> dict[str, Any]:
    return {
        "occurred_at": breach.breached_at.isoformat(),
        "case": _case(session, breach.instance_id),
        "sla": {"name": breach.sla, "element_id": breach.element_id, "due_at": breach.due_at.isoformat()},
    }


@dataclass(frozen=True)
class DeliveryRound:
    """What one round of sending did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_due(writer: sessionmaker[Session], limit: int = 50, timeout: float = 5.0) -> DeliveryRound:
    """Queue new events, then send the deliveries that are due; no transaction is open while sending."""
    with writer.begin() as session:
        enqueue(session)
        rows = list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= clock.now())
                .order_by(WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
        )
        due = [(r.id, r.subscription.url, r.subscription.secret, r.body) for r in rows]
        for leased in rows:
            # A lease: another runner skips these while this one sends them.
            leased.next_attempt_at = clock.now() + LEASE
    delivered = retrying = failed = 0
    for delivery_id, url, secret, body in due:
        status, error = _send(url, secret, delivery_id, body.encode(), timeout)
        with writer.begin() as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                continue
            row.attempts += 1
            row.last_status, row.last_error = status, error
            if status is not None and 200 <= status < 300:
                row.state, row.delivered_at = "delivered", clock.now()
                delivered += 1
            elif row.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
                failed += 1
            else:
                pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (row.attempts - 1))
                row.next_attempt_at = clock.now() + pause
                retrying += 1
    return DeliveryRound(delivered, retrying, failed)


def _send(
    url: str, secret: str, delivery_id: int, body: bytes, timeout: float
) -> tuple[int | None, str | None]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "afterflow-webhooks/1",
            "X-Afterflow-Delivery": str(delivery_id),
            HEADER: sign(secret, int(time.time()), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), None
    except urllib.error.HTTPError as error:
        return int(error.code), f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return None, str(getattr(error, "reason", error))[:500]


def deliveries_of(session: Session, subscription_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log of a subscription, newest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
