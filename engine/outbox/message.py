"""What a channel sends: a worded message for one recipient, and the channel's interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """A notification worded for its reader: a subject line, plain text, optional HTML and link."""

    subject: str
    text: str
    html: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One notification on its way: its id (receivers may de-duplicate on it), whom, what."""

    id: int
    kind: str
    medium: str
    #: A user name, or a customer's address or phone number.
    recipient: str
    message: Message
    email: str | None = None
    mobile: str | None = None


class DeliveryFailed(Exception):
    """A channel could not hand a notification over; ``permanent`` ones are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Hands a notification to the outside world, or raises ``DeliveryFailed``."""

    def send(self, outgoing: Outgoing) -> None: ...


#: Words a notification: (kind, params, language) → message.
Renderer = Callable[[str, dict[str, Any], str | None], Message]
