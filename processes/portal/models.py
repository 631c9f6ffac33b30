"""What the portal keeps about a request a customer submitted: the case it started and its status key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class PortalRequest(Base):
    """A request from the self-service page: its case, and the hash of the customer's private status key.

    The key is an HMAC of ``link_seed`` under the app's secret key: the server can write the
    link again in a later notice to the customer, but the database alone cannot (a leaked table
    opens no status page). Look-ups go by the key's SHA-256.
    """

    __tablename__ = "portal_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    link_seed: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
