"""The notification tables: the outbox itself, each person's choices, and the defaults of each role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class Notification(Base):
    """One event for one person (or customer address) on one channel.

    Written in the transaction of the command that caused it; ``pending`` until a delivery
    worker sent it (``delivered``) or gave up (``failed``). In-app rows are ``delivered`` at once
    and carry ``read_at`` once their recipient saw them.
    """

    __tablename__ = "notification"
    __table_args__ = (
        # The same event reaches a person once per channel, however often it is noticed.
        UniqueConstraint("event_key", "recipient", "medium"),
        Index("ix_notification_due", "state", "next_attempt_at"),
        # The bell: a person's unread in-app notifications, counted from the index alone.
        Index("ix_notification_inbox", "recipient", "medium", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What the notification stands for ("event:42", "breach:7", "due_soon:<task>"), one row per channel.
    event_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))
    #: A user name, or for customers' channels the address or phone number.
    recipient: Mapped[str] = mapped_column(String(320))
    medium: Mapped[str] = mapped_column(String(16))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: What the wording needs: case number, step, due time, who acted (never form data).
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not before: quiet hours defer a notification to here; a claiming worker leases it until here.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NotificationPreference(Base):
    """What one person chose: which events, on which channels, where to reach them, when not to."""

    __tablename__ = "notification_preference"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(320))
    #: The mobile number group robots @-mention.
    mobile: Mapped[str | None] = mapped_column(String(32))
    #: "none", "outside_working_time" (the company calendar) or "hours" (``quiet_from``–``quiet_until``).
    quiet: Mapped[str] = mapped_column(String(24), default="none")
    quiet_from: Mapped[str | None] = mapped_column(String(5))
    quiet_until: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NotificationRoleDefault(Base):
    """What holders of a role receive until they choose for themselves (set by an administrator)."""

    __tablename__ = "notification_role_default"

    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
