"""The delivery worker: claims due notifications, sends each on its channel, retries with back-off.

A worker claims a batch under ``FOR UPDATE SKIP LOCKED`` and leases it (``next_attempt_at`` moves
past the lease), so two workers never send the same row; it commits each outcome right after the
channel accepted the notification. A worker killed mid-batch leaves its unsent rows leased: once
the lease ends another worker (or the same one, restarted) sends them. Each message carries the
notification's id (``Message-ID``, ``X-Afterflow-Notification``) so that a receiver can recognise
the one notification whose acceptance and commit a kill could have separated.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.outbox.message import Channel, DeliveryFailed, Message, Outgoing, Renderer
from engine.outbox.models import Notification
from engine.outbox.preferences import choices_of

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=2)
LEASE = timedelta(minutes=2)
#: Channels whose recipient is an address or number, not a user (customers).
ADDRESSED = frozenset({"customer_email", "customer_sms"})


@dataclass(frozen=True)
class DeliveryRound:
    """What one round of sending did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class Deliverer:
    """Sends due notifications on the configured channels, one claimed batch per round."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        render: Renderer,
        name: str | None = None,
        lease: timedelta = LEASE,
        batch: int = 20,
    ) -> None:
        self.factory = factory
        self.channels = dict(channels)
        self.render = render
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        self.batch = batch

    def claim(self) -> list[Outgoing]:
        """Lease the due notifications of a batch to this worker and word them."""
        now = clock.now()
        with self.factory.begin() as session:
            rows = list(
                session.scalars(
                    select(Notification)
                    .where(Notification.state == "pending", Notification.next_attempt_at <= now)
                    .order_by(Notification.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.next_attempt_at, row.claimed_by = now + self.lease, self.name
            users = choices_of(session, {r.recipient for r in rows if r.medium not in ADDRESSED})
            claimed = []
            for row in rows:
                choice = users.get(row.recipient)
                if row.medium in ADDRESSED:
                    language = row.params.get("language")
                    email = row.recipient if row.medium == "customer_email" else None
                    mobile = row.recipient if row.medium == "customer_sms" else None
                else:
                    language = choice.language if choice else None
                    email = choice.email if choice else None
                    mobile = choice.mobile if choice else None
                try:
                    message = self.render(row.kind, dict(row.params), language)
                except Exception:  # wording must not block the outbox: send the bare facts
                    log.exception("notification %s could not be worded", row.id)
                    message = Message(row.kind, ", ".join(f"{k}: {v}" for k, v in sorted(row.params.items())))
                claimed.append(Outgoing(row.id, row.kind, row.medium, row.recipient, message, email, mobile))
            return claimed

    def run_once(self) -> DeliveryRound:
        """Send one batch; no transaction is open while a channel sends."""
        delivered = retrying = failed = 0
        for outgoing in self.claim():
            if not self._renew(outgoing.id):
                continue  # the lease ran out and another worker took it over
            channel = self.channels.get(outgoing.medium)
            error: DeliveryFailed | None = None
            if channel is None:
                error = DeliveryFailed(f"the {outgoing.medium} channel is not configured", permanent=True)
            else:
                try:
                    channel.send(outgoing)
                except DeliveryFailed as failure:
                    error = failure
                except Exception as failure:  # a broken channel must not stop the worker
                    log.exception("notification %s could not be sent", outgoing.id)
                    error = DeliveryFailed(str(failure)[:500])
            outcome = self._settle(outgoing.id, error)
            delivered += outcome == "delivered"
            retrying += outcome == "pending"
            failed += outcome == "failed"
        return DeliveryRound(delivered, retrying, failed)

    def _renew(self, notification_id: int) -> bool:
        """Extend this worker's lease on one notification just before sending it; False if it lost it."""
        with self.factory.begin() as session:
            result = session.execute(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.state == "pending",
                    Notification.claimed_by == self.name,
                )
                .values(next_attempt_at=clock.now() + self.lease)
            )
            return bool(getattr(result, "rowcount", 0))

    def _settle(self, notification_id: int, error: DeliveryFailed | None) -> str:
        with self.factory.begin() as session:
            row = session.get(Notification, notification_id, with_for_update=True)
            if row is None or row.state != "pending" or row.claimed_by != self.name:
                return "gone"  # settled meanwhile by the worker that took it over
            row.attempts += 1
            row.claimed_by = None
            if error is None:
                row.state, row.delivered_at, row.last_error = "delivered", clock.now(), None
            elif error.permanent or row.attempts >= MAX_ATTEMPTS:
                row.state, row.last_error = "failed", str(error)[:2000]
            else:
                row.last_error = str(error)[:2000]
                row.next_attempt_at = clock.now() + min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (row.attempts - 1))
            return row.state

    def drain(self, rounds: int = 100) -> DeliveryRound:
        """Send rounds until nothing is due (tests and the command line)."""
        total = DeliveryRound()
        for _ in range(rounds):
            done = self.run_once()
            if done == DeliveryRound():
                break
            total = DeliveryRound(
                total.delivered + done.delivered, total.retrying + done.retrying, total.failed + done.failed
            )
            if done.delivered == 0 and done.failed == 0:
                break
        return total
