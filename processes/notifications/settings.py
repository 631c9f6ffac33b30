"""What administrators set for notifications: the notices customers get, and the due-soon share per process.

A refused value changes nothing and says which field is wrong (``NoticeSettingInvalid.reason``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import EngineError
from engine.store.models import ProcessDefinition
from processes.notifications.models import CustomerNoticeSetting, DueSoonShareRow

#: The customers' channels, and the outbox medium each is sent on.
CUSTOMER_CHANNELS = {"email": "customer_email", "sms": "customer_sms"}
#: The one row of the company's customer-notice setting.
SETTING_ID = 1
#: The process key of the default due-soon share.
DEFAULT_KEY = ""


class NoticeSettingInvalid(EngineError):
    """A notification setting that cannot be kept; ``reason`` says why ("unknown_channel", "bad_share", "unknown_process")."""

    code = "notice_setting_invalid"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def customer_channels_from_environ() -> tuple[str, ...]:
    """The customer channels of the environment (``AFTERFLOW_CUSTOMER_NOTICES=email,sms``)."""
    chosen = os.environ.get("AFTERFLOW_CUSTOMER_NOTICES", "")
    return tuple(c for c in (p.strip().lower() for p in chosen.split(",")) if c in CUSTOMER_CHANNELS)


@dataclass(frozen=True)
class CustomerNotices:
    """The company's notices to customers: on which channels (none: customers are not told)."""

    channels: tuple[str, ...]
    name_technician: bool = False

    @property
    def enabled(self) -> bool:
        """Whether customers are told at all."""
        return bool(self.channels)


def customer_notices(session: Session) -> CustomerNotices:
    """The company's setting; until an administrator sets it, the environment's channels, naming nobody."""
    row = session.get(CustomerNoticeSetting, SETTING_ID)
    if row is None:
        return CustomerNotices(customer_channels_from_environ())
    return CustomerNotices(
        tuple(c for c in row.channels if c in CUSTOMER_CHANNELS), bool(row.name_technician)
    )


def save_customer_notices(
    session: Session, channels: Iterable[str], name_technician: bool, changed_by: str
) -> CustomerNotices:
    """Keep the company's customer notices (checked first: a refused choice changes nothing)."""
    chosen = list(dict.fromkeys(channels))
    if any(c not in CUSTOMER_CHANNELS for c in chosen):
        raise NoticeSettingInvalid("unknown customer channel", "unknown_channel")
    row = session.get(CustomerNoticeSetting, SETTING_ID) or CustomerNoticeSetting(id=SETTING_ID)
    row.channels = [c for c in CUSTOMER_CHANNELS if c in chosen]
    row.name_technician = bool(name_technician)
    row.changed_by, row.changed_at = changed_by, clock.now()
    session.add(row)
    session.flush()
    return customer_notices(session)


def due_soon_shares(session: Session) -> dict[str, float]:
    """The shares administrators set, by process key (the default under ``DEFAULT_KEY``)."""
    return {
        key: float(share)
        for key, share in session.execute(select(DueSoonShareRow.process_key, DueSoonShareRow.share))
    }


def save_due_soon_share(session: Session, process_key: str, share: float | None, changed_by: str) -> None:
    """Set the due-soon share of a deployed process (or the default); None lets it follow the default again."""
    if (
        process_key != DEFAULT_KEY
        and session.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key).limit(1)
        )
        is None
    ):
        raise NoticeSettingInvalid(f"no process {process_key!r} is deployed", "unknown_process")
    if share is None:
        session.execute(delete(DueSoonShareRow).where(DueSoonShareRow.process_key == process_key))
        return
    if not math.isfinite(share) or not 0 < share < 1:
        raise NoticeSettingInvalid("the share must lie between 0 and 1", "bad_share")
    row = session.get(DueSoonShareRow, process_key) or DueSoonShareRow(process_key=process_key)
    row.share, row.changed_by, row.changed_at = share, changed_by, clock.now()
    session.add(row)
    session.flush()
