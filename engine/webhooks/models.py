"""The webhook tables: who listens for which case events, and every delivery with its attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.database import Base
from engine.store.models import UTCDateTime


class WebhookSubscription(Base):
    """A URL that receives the chosen case events, signed with its own secret."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The newest audit event and SLA breach already put in the outbox for this subscription.
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    last_breach_id: Mapped[int] = mapped_column(Integer, default=0)


class WebhookDelivery(Base):
    """One event for one subscription: pending until the receiver answers 2xx, retried with backoff."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    #: What the delivery stands for ("event:42", "breach:7"), so nothing is queued twice.
    event_key: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subscription: Mapped[WebhookSubscription] = relationship(lazy="joined")

    def payload(self) -> dict[str, Any]:
        """The JSON body as sent."""
        import json

        value: dict[str, Any] = json.loads(self.body)
        return value
