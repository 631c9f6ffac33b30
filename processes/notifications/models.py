"""What a company sets for its notifications: its notices to customers, and when tasks are "due soon"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base
from engine.store.models import UTCDateTime


class CustomerNoticeSetting(Base):
    """The company's notices to customers (one row): on which channels, and whether the technician is named.

    No row: the ``AFTERFLOW_CUSTOMER_NOTICES`` setting of the environment, without names.
    """

    __tablename__ = "customer_notice_setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: "email", "sms": none means customers are not told.
    channels: Mapped[list[Any]] = mapped_column(JSON)
    #: The "technician on the way" notice names the technician (their display name, nothing else).
    name_technician: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DueSoonShareRow(Base):
    """The share of a task's time after which its people hear it is due soon: per process, or the default.

    The default's row has the empty process key; a process without a row follows the default.
    """

    __tablename__ = "due_soon_share"

    process_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
